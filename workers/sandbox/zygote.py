"""The warm parent: a fresh interpreter (never the Django worker itself, whose memory holds secrets) that
imports torch and TransformerLens, runs ``preload`` once, and forks one single-use child per run.

Started by ``Sandbox`` as ``python -m workers.sandbox.zygote <control fd>``; it dies with its worker.
Messages on the control socket (``wire`` frames, file descriptors passed with SCM_RIGHTS):
  worker -> zygote: config, then one ``run`` per submission (with the result/stdout/stderr pipe ends);
  zygote -> worker: ``ready`` (or ``error``), then per run ``started`` (with a pidfd) and ``exited``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import sys
from typing import Any

from workers.sandbox import child, isolation, wire
from workers.sandbox.limits import Limits

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


class Zygote:
    def __init__(self, control: socket.socket, config: dict[str, Any]) -> None:
        self.control = control
        self.device = config["device"]
        child.warm_imports()
        self.preloaded = child.resolve(config["preload"])() if config["preload"] else {}
        if not isinstance(self.preloaded, dict):
            raise TypeError(f"preload must return a dict, not {type(self.preloaded).__name__}")
        self.slot = isolation.acquire_slot()
        self.confinement = isolation.Confinement.prepare(self.slot, isolation.read_paths_for_python(), self.device)
        self.missing = self.confinement.probe()
        self.gpu_child: tuple[int, socket.socket] | None = None

    def serve(self) -> None:
        while True:
            if self.device == "cuda" and self.gpu_child is None:
                self.gpu_child = self._start_gpu_child()
            got = wire.recv_message(self.control)
            if got is None:
                return
            job, fds = got
            try:
                child.resolve(job["entry"])  # imported here once, so every later child inherits it
                limits = Limits(**job["limits"])
            except Exception as exc:  # noqa: BLE001 - a bad request is reported, the zygote keeps serving
                for fd in fds:
                    os.close(fd)
                wire.send_message(self.control, {"error": f"{type(exc).__name__}: {exc}"})
                continue
            job["run_dir"] = isolation.make_run_dir(self.slot)
            pid = self._start_child(job, fds)
            for fd in fds:
                os.close(fd)
            pidfd = os.pidfd_open(pid)
            wire.send_message(self.control, {"started": pid}, [pidfd])
            os.close(pidfd)
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            self.confinement.kill_leftovers(pid, may_have_spawned=limits.max_processes > 1)
            _, status, usage = os.wait4(pid, 0)
            shutil.rmtree(job["run_dir"], ignore_errors=True)
            self._reap_orphans()
            wire.send_message(
                self.control,
                {
                    "exited": status,
                    "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000),
                    "max_rss_kb": usage.ru_maxrss,
                },
            )

    def _start_child(self, job: dict[str, Any], fds: list[int]) -> int:
        if self.device == "cuda":
            pid, sock = self.gpu_child
            self.gpu_child = None
            wire.send_message(sock, job, fds)
            sock.close()
            return pid
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            self.confinement.unshare_network()
            child.child_main(self.confinement, job, fds, self.preloaded, self.device)
        return pid

    def _start_gpu_child(self) -> tuple[int, socket.socket]:
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ours.close()
            self.control.close()
            os.setsid()
            child.warm_gpu_child(self.confinement, theirs, self.preloaded)
        theirs.close()
        return pid, ours

    def _reap_orphans(self) -> None:
        """Wait for the background processes the learner started: as a subreaper we inherited them, and
        ``kill_leftovers`` has just sent them SIGKILL. Only the pre-started GPU child is left alone."""
        spare = self.gpu_child[0] if self.gpu_child else None
        with open(f"/proc/self/task/{os.getpid()}/children") as children:
            orphans = [int(pid) for pid in children.read().split() if int(pid) != spare]
        for pid in orphans:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    control = socket.socket(fileno=int(sys.argv[1]))
    got = wire.recv_message(control)
    if got is None:
        return
    config, _ = got
    sys.path[:] = config["sys_path"]
    try:
        zygote = Zygote(control, config)
    except Exception as exc:  # noqa: BLE001 - the worker turns this into a clear start-up error
        wire.send_message(control, {"error": f"{type(exc).__name__}: {exc}"})
        return
    wire.send_message(control, {"ready": True, "uid": zygote.slot.uid, "missing": zygote.missing, "pid": os.getpid()})
    zygote.serve()
    os._exit(0)  # nothing to flush; skipping interpreter teardown saves seconds per worker restart


if __name__ == "__main__":
    main()
