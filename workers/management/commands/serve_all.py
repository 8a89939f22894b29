"""manage.py serve_all — the whole product in one command, stopped together with Ctrl-C (or SIGTERM).

Starts, in this order: the private Redis (only when REDIS_URL is unset; see ``workers.broker``), the
Celery worker(s), the web server on 127.0.0.1:8000; then runs the sweeper every ``--sweep-every``
seconds in this process. Every line a child prints is prefixed with its name ([redis], [worker-1],
[web], [sweeper]). If any child exits on its own, everything is stopped and the exit status is 1.

Queues: on a machine without a GPU every worker consumes both ``cpu`` and ``gpu``, so every exercise
runs (on the CPU). With a GPU, one extra worker consumes ``gpu`` (and ``cpu`` too with ``--gpu-takes-cpu``)
and the others consume ``cpu``. Playground runs have their own queue, ``playground``, and their own
worker(s) (``--playground-workers``, at least 1), so they never delay a graded submission.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from grader.submissions.services import sweep
from workers.broker import PrivateRedis, private_socket

STOP_TIMEOUT = 20.0  # seconds a worker may take to finish its current task on shutdown


def worker_queues(workers: int, has_gpu: bool, gpu_takes_cpu: bool) -> list[tuple[str, str]]:
    """(name, queues) of each worker process that grades submissions."""
    if not has_gpu:
        return [(f"worker-{n}", "cpu,gpu") for n in range(1, workers + 1)]
    return [("worker-gpu", "gpu,cpu" if gpu_takes_cpu else "gpu")] + [
        (f"worker-{n}", "cpu") for n in range(1, workers + 1)
    ]


def playground_worker_queues(count: int) -> list[tuple[str, str]]:
    """(name, queues) of the workers that run playground code: never a submission queue."""
    from workers.playground import QUEUE

    return [(f"worker-playground-{n}", QUEUE) for n in range(1, max(1, count) + 1)]


class Command(BaseCommand):
    help = "Runs the private Redis (unless REDIS_URL is set), the web server, the Celery worker(s) and the sweeper."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="Where the web server listens.")
        parser.add_argument("--web", choices=["runserver", "gunicorn"], default="runserver",
                            help="runserver also serves the static files; gunicorn needs them served in front of it.")
        parser.add_argument("--workers", type=int, default=1, help="CPU worker processes.")
        parser.add_argument("--playground-workers", type=int, default=1,
                            help="Worker processes for playground runs only (at least 1).")
        parser.add_argument("--gpu-takes-cpu", action="store_true", help="With a GPU, its worker also consumes cpu.")
        parser.add_argument("--sweep-every", type=float, default=30.0, help="Seconds between sweeps.")

    def handle(self, *args, addr: str, web: str, workers: int, playground_workers: int, gpu_takes_cpu: bool,
               sweep_every: float, **options) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.output_lock = threading.Lock()
        self.stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        redis = None
        status = 0
        try:
            socket_path = private_socket()
            if socket_path is not None:
                redis = PrivateRedis(socket_path, settings.DATA_DIR / "redis")
                popen = self._piped("redis")
                redis.start(**popen)
                os.close(popen["stdout"])
                self._log("sweeper", f"private Redis on {socket_path} (set REDIS_URL to use another)")
            import torch

            graders = worker_queues(workers, torch.cuda.is_available(), gpu_takes_cpu)
            for name, queues in graders + playground_worker_queues(playground_workers):
                self._spawn(name, [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                                   "-Q", queues, "-c", "1", "-n", f"{name}@%h", "--without-gossip",
                                   "--without-mingle", "-l", "INFO"])
            if web == "gunicorn":
                self._spawn("web", [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", addr, "-w", "2"])
            else:
                self._spawn("web", [sys.executable, "manage.py", "runserver", addr, "--noreload", "--insecure"])
            status = self._supervise(sweep_every)
        finally:
            self._stop_all()
            if redis is not None:
                redis.stop()
                self._log("sweeper", "private Redis stopped")
        sys.exit(status)

    def _supervise(self, sweep_every: float) -> int:
        next_sweep = time.monotonic()
        while not self.stopping.wait(0.5):
            for name, process in self.children:
                if process.poll() is not None:
                    self._log(name, f"exited with status {process.returncode}; stopping everything")
                    return 1
            if time.monotonic() >= next_sweep:
                try:
                    report = sweep()
                    if report.resent or report.requeued or report.gave_up:
                        self._log("sweeper", f"resent {report.resent}, requeued {report.requeued}, gave up {report.gave_up}")
                except Exception as error:  # a database hiccup must not stop the product; the next sweep retries
                    self._log("sweeper", f"sweep failed: {type(error).__name__}: {error}")
                finally:
                    close_old_connections()
                next_sweep = time.monotonic() + sweep_every
        return 0

    def _piped(self, name: str) -> dict:
        """Popen arguments that send the child's output through this process with a [name] prefix."""
        read, write = os.pipe()
        threading.Thread(target=self._relay, args=(name, os.fdopen(read, errors="replace")), daemon=True).start()
        return {"stdout": write, "stderr": subprocess.STDOUT, "start_new_session": True}

    def _relay(self, name: str, stream) -> None:
        for line in stream:
            self._log(name, line.rstrip("\n"))

    def _spawn(self, name: str, command: list[str]) -> None:
        popen = self._piped(name)
        process = subprocess.Popen(command, env=os.environ | {"PYTHONUNBUFFERED": "1"}, **popen)
        os.close(popen["stdout"])
        self.children.append((name, process))
        self._log(name, f"started (pid {process.pid}): {' '.join(command[1:6])}…")

    def _stop_all(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in self.children:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log(name, f"did not stop within {STOP_TIMEOUT:.0f} s; killed")
                process.kill()
                process.wait()

    def _log(self, name: str, line: str) -> None:
        with self.output_lock:
            self.stdout.write(f"[{name}] {line}")
            self.stdout.flush()
