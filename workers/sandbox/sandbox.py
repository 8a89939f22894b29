"""The worker's side of the sandbox: start the zygote, send it runs, watch the child, write the verdict."""

from __future__ import annotations

import itertools
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workers.sandbox import wire
from workers.sandbox.child import ISOLATION_FAILED
from workers.sandbox.isolation import SandboxUnavailable, check_host
from workers.sandbox.limits import Limits, SandboxResult, human_bytes, human_seconds

logger = logging.getLogger("workers.sandbox")

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_CHILD_STATUSES = {"ok", "syntax_error", "exception", "invalid_result", "memory_limit", "output_limit"}
_ZYGOTE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES")
_START_TIMEOUT_S = 180
_DRAIN_TIMEOUT_S = 2.0
_READ_CHUNK = 1 << 16


def reference(function: Callable[..., Any]) -> str:
    """How the zygote finds a function: "module:qualname". Closures and lambdas have no such address."""
    module, qualname = function.__module__, function.__qualname__
    if "<" in qualname:
        raise TypeError(f"{qualname} must be a module-level function or a staticmethod, so the sandbox can import it")
    if module == "__main__":  # a script: importable under its file name, its folder being sys.path[0]
        module = Path(sys.modules["__main__"].__file__).stem
    return f"{module}:{qualname}"


class Sandbox:
    """A warm zygote for one worker process; ``run`` executes one submission in a fresh confined child.

    ``preload`` runs once in the zygote (torch and TransformerLens already imported, one thread) and
    returns what every child receives, e.g. reference models, on the CPU. It must be a module-level
    function and must not touch Django settings or answer keys: the zygote's memory, with every module
    it imported (``entry``'s included), is what learner code can read. ``run`` is serialised; use one
    Sandbox per worker process (each takes its own uid slot).
    """

    def __init__(self, preload: Callable[[], dict] | None = None, device: str = "cpu") -> None:
        if device not in {"cpu", "cuda"}:
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        self.device = device
        self._preload = reference(preload) if preload else None
        self._lock = threading.Lock()
        self._job_ids = itertools.count()
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workers.sandbox.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=_PROJECT_ROOT,
            env={name: os.environ[name] for name in _ZYGOTE_ENV if name in os.environ},
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours
        wire.send_message(ours, {"sys_path": sys.path, "preload": self._preload, "device": self.device})
        ours.settimeout(_START_TIMEOUT_S)
        try:
            got = wire.recv_message(ours)
        except TimeoutError:
            got = None
        ours.settimeout(None)
        if got is None or "error" in got[0]:
            self.close()
            reason = got[0]["error"] if got else "it exited or did not answer (see the worker's log)"
            raise SandboxUnavailable(f"the sandbox's warm parent could not start: {reason}")
        ready = got[0]
        try:
            check_host(ready["missing"])
        except SandboxUnavailable:
            self.close()
            raise
        self.uids, self.pid = tuple(ready["uids"]), ready["pid"]
        logger.info("sandbox ready: zygote pid %s, uids %s, device %s", self.pid, self.uids, self.device)

    def close(self) -> None:
        self._control.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(
        self,
        code: str,
        entry: Callable[[dict, dict, dict], dict],
        inputs: dict[str, Any],
        limits: Limits | None = None,
    ) -> SandboxResult:
        """Run ``code`` as a module in a fresh child, then ``entry(namespace, inputs, preloaded)`` there."""
        limits = limits or Limits()
        job = {"id": next(self._job_ids), "entry": reference(entry), "limits": limits.as_dict()}
        submission = wire.encode({"code": code, "inputs": inputs}, max_bytes=1 << 40)
        with self._lock:
            if self._process.poll() is not None:
                self._restart()
            try:
                return _Run(self._control, job, submission, limits).result()
            except ZygoteGone:  # it died between runs; the submission never started
                self._restart()
                return _Run(self._control, job, submission, limits).result()

    def _restart(self) -> None:
        logger.error("sandbox zygote %s died (exit %s); starting a new one", self.pid, self._process.poll())
        self.close()
        self._start()


class SandboxError(RuntimeError):
    """The sandbox failed, not the learner's code: the submission should be retried, not graded."""


class ZygoteGone(ConnectionError):
    """The zygote's control socket closed before a job started."""


class _Run:
    """One run seen from the worker: collect the three pipes, enforce wall time and sizes, decide the verdict.

    The child closes its output and sends its result just before it exits; a complete result is used at
    once, and the zygote reaps the child in the background. Without a result (killed, crashed, exited
    early) the run waits for the zygote's ``exited`` notice, which carries the kernel's account.
    """

    def __init__(self, control: socket.socket, job: dict[str, Any], submission: bytes, limits: Limits) -> None:
        self.limits = limits
        self.called = time.monotonic()
        self.killed_for: str | None = None
        self.exited: dict[str, Any] | None = None
        self.ended_at: float | None = None
        self.result_at: float | None = None
        result_r, result_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        self.buffers = {result_r: bytearray(), stdout_r: bytearray(), stderr_r: bytearray()}
        self.result_fd, self.stdout_fd, self.stderr_fd = result_r, stdout_r, stderr_r
        self.truncated: set[int] = set()
        try:
            try:
                wire.send_message(control, job, [result_w, stdout_w, stderr_w], body=submission)
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise ZygoteGone from exc
            finally:
                for fd in (result_w, stdout_w, stderr_w):
                    os.close(fd)
            reply = self._reply(control, job["id"])
            if not reply:
                raise ZygoteGone
            if "started" not in reply:
                raise SandboxError(f"the sandbox refused the run: {reply['error']}")
            self.pid, self.pidfd = reply["started"], reply["fds"][0]
            try:
                self._collect(control)
            finally:
                os.close(self.pidfd)
        finally:
            for fd in self.buffers:
                os.close(fd)

    def _reply(self, control: socket.socket, job_id: int) -> dict[str, Any]:
        """The zygote's answer to our job, past notices about earlier runs (exits, and the answer to a job
        whose run was interrupted by an exception in the worker, e.g. Celery's soft time limit)."""
        while True:
            got = wire.recv_message(control)
            if got is None:
                return {}
            message, fds = got
            if message.get("job") == job_id:
                return {**message, "fds": fds}
            for fd in fds:
                os.close(fd)

    def _kill(self, reason: str) -> None:
        if self.killed_for is None:
            self.killed_for = reason
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _finished(self, open_pipes: set[int]) -> bool:
        if self.exited is not None:
            return not open_pipes or time.monotonic() >= self.ended_at + _DRAIN_TIMEOUT_S
        return not open_pipes and self.killed_for is None and bool(self.buffers[self.result_fd])

    def _collect(self, control: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        for fd in self.buffers:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(control, selectors.EVENT_READ)
        deadline = self.called + self.limits.wall_seconds
        open_pipes = set(self.buffers)
        try:
            while not self._finished(open_pipes):
                now = time.monotonic()
                if self.exited is None and now >= deadline:
                    self._kill("time")
                    deadline = float("inf")
                wait = (deadline if self.exited is None else self.ended_at + _DRAIN_TIMEOUT_S) - now
                for key, _ in selector.select(min(wait, 3600)):
                    if key.fileobj is control:
                        self._notice(control, selector)
                    else:
                        self._read(key.fd, selector, open_pipes)
        finally:
            selector.close()
        if self.ended_at is None:
            self.ended_at = self.result_at

    def _notice(self, control: socket.socket, selector: selectors.BaseSelector) -> None:
        got = wire.recv_message(control)
        if got is None:  # the zygote died; it takes its children with it (PR_SET_PDEATHSIG)
            self.exited = {"exited": None, "cpu_ms": None, "max_rss_kb": None}
        elif got[0].get("pid") == self.pid:
            self.exited = got[0]
        else:
            return  # an earlier run's exit
        self.ended_at = time.monotonic()
        selector.unregister(control)

    def _read(self, fd: int, selector: selectors.BaseSelector, open_pipes: set[int]) -> None:
        chunk = os.read(fd, _READ_CHUNK)
        if not chunk:
            selector.unregister(fd)
            open_pipes.discard(fd)
            if fd == self.result_fd:
                self.result_at = time.monotonic()
            return
        if fd == self.result_fd:
            if len(self.buffers[fd]) + len(chunk) > self.limits.max_result_bytes:
                self._kill("result")
            else:
                self.buffers[fd] += chunk
            return
        room = self.limits.max_output_bytes - len(self.buffers[self.stdout_fd]) - len(self.buffers[self.stderr_fd])
        self.buffers[fd] += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.truncated.add(fd)
            self._kill("output")

    def _text(self, fd: int) -> str:
        text = self.buffers[fd].decode("utf-8", errors="replace")
        if fd in self.truncated:
            text += f"\n[output truncated: the limit is {human_bytes(self.limits.max_output_bytes)}]"
        return text

    def result(self) -> SandboxResult:
        exited = self.exited or {}
        result = SandboxResult(
            status="killed",
            stdout=self._text(self.stdout_fd),
            stderr=self._text(self.stderr_fd),
            resources={
                "wall_ms": round((self.ended_at - self.called) * 1000),
                "cpu_ms": exited.get("cpu_ms"),
                "max_rss_kb": exited.get("max_rss_kb"),
            },
            timings={"start_ms": None, "collect_ms": None, "finish_ms": None},
        )
        if self.exited is None:  # a complete result came first: the child's own account, taken just before it exited
            self._apply_frame(result)
            return result
        status_word = exited["exited"]
        signum = os.WTERMSIG(status_word) if status_word is not None and os.WIFSIGNALED(status_word) else None
        cpu_ms = exited["cpu_ms"] or 0
        if status_word is None:
            raise SandboxError("the sandbox's zygote died during the run")
        if self.killed_for == "time":
            result.status = "time_limit"
            result.message = f"time limit of {human_seconds(self.limits.wall_seconds)} exceeded"
        elif self.killed_for == "output":
            result.status = "output_limit"
            limit = human_bytes(self.limits.max_output_bytes)
            result.message = f"output limit of {limit} exceeded; the output shown is truncated"
        elif self.killed_for == "result":
            result.status = "invalid_result"
            result.message = f"the result is larger than the limit of {human_bytes(self.limits.max_result_bytes)}"
        elif signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_ms >= self.limits.cpu_seconds * 1000):
            result.status = "time_limit"
            result.message = f"CPU time limit of {human_seconds(self.limits.cpu_seconds)} exceeded"
        elif self.buffers[self.result_fd]:
            self._apply_frame(result)
        elif signum is not None:
            result.message = f"killed by signal {_signal_name(signum)}"
        elif os.WEXITSTATUS(status_word) == ISOLATION_FAILED:
            raise SandboxError(f"the sandbox child could not confine itself:\n{result.stderr}")
        else:
            result.status = "invalid_result"
            result.message = (
                f"your code ended the process (exit code {os.WEXITSTATUS(status_word)}) before a result was "
                "returned; return from your functions instead of calling sys.exit() or os._exit()"
            )
        return result

    def _apply_frame(self, result: SandboxResult) -> None:
        received_at = self.result_at or self.ended_at
        try:
            frame = wire.decode(bytes(self.buffers[self.result_fd]))
            status = frame["status"]
            if status not in _CHILD_STATUSES:
                raise wire.WireError(f"the result channel carried an unknown status {status!r}")
        except (wire.WireError, KeyError, TypeError) as exc:
            result.status, result.message = "invalid_result", str(exc)
            return
        decoded_at = time.monotonic()
        result.status = status
        result.message = str(frame.get("message") or "")
        line = frame.get("line")
        result.line = line if isinstance(line, int) and not isinstance(line, bool) else None
        outputs = frame.get("outputs")
        result.outputs = outputs if status == "ok" and isinstance(outputs, dict) else None
        if status == "ok" and result.outputs is None:
            result.status, result.message = "invalid_result", "the result is missing its outputs"
        if self.exited is None:
            result.resources.update(cpu_ms=_count(frame.get("cpu_ms")), max_rss_kb=_count(frame.get("max_rss_kb")))
        started, finished = frame.get("started_at"), frame.get("finished_at")
        result.timings = {
            "start_ms": _ms(started - self.called) if isinstance(started, float) else None,
            "collect_ms": _ms(decoded_at - received_at),
            "finish_ms": _ms(time.monotonic() - finished) if isinstance(finished, float) else None,
        }


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
