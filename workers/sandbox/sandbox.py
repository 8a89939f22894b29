"""The worker's side of the sandbox: start the zygote, send it runs, watch the child, write the verdict."""

from __future__ import annotations

import builtins
import itertools
import logging
import os
import secrets
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
from workers.sandbox.isolation import RESULT_FD, SandboxUnavailable, check_host
from workers.sandbox.limits import Limits, SandboxResult, human_bytes, human_seconds

logger = logging.getLogger("workers.sandbox")

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_CHILD_STATUSES = {"ok", "syntax_error", "exception", "invalid_result", "output_limit"}
_ZYGOTE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES")
_ZYGOTE_ENV_PREFIX = "MECHGRADE_SANDBOX_"  # the operator's sandbox settings (isolation.py reads them there)
# What a quiet run may name: the parent's own list, so a learner's class name never crosses.
_BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)
_START_TIMEOUT_S = 180
_DRAIN_TIMEOUT_S = 2.0
_MEMORY_MARGIN = 32 * 1024**2  # room left below the address-space limit that still counts as reaching it
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
            env={
                name: value
                for name, value in os.environ.items()
                if name in _ZYGOTE_ENV or name.startswith(_ZYGOTE_ENV_PREFIX)
            },
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
        *,
        quiet: bool = False,
        seed: int | None = None,
    ) -> SandboxResult:
        """Run ``code`` as a module in a fresh child, then ``entry(namespace, inputs, preloaded)`` there.

        ``quiet`` is for code run on something hidden (a hidden model): the child gets no stdout or
        stderr at all (descriptors 0-2 closed, ``print`` discarded), and the result carries nothing the
        child wrote but the entry's outputs: no output, no exception text, no line, no exit code or
        signal; an exception is named only if its name is a Python built-in exception's. ``seed`` seeds
        the child's ``random``, NumPy and torch generators; None picks a fresh one (``result.seed``).
        """
        limits = limits or Limits()
        if seed is None:
            seed = secrets.randbits(63)
        elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
        job = {
            "id": next(self._job_ids),
            "entry": reference(entry),
            "limits": limits.as_dict(),
            "seed": seed,
            "quiet": quiet,
        }
        submission = wire.encode({"code": code, "inputs": inputs}, max_bytes=1 << 40)
        with self._lock:
            if self._process.poll() is not None:
                self._restart()
            try:
                result = _Run(self._control, job, submission, limits).result()
            except ZygoteGone:  # it died between runs; the submission never started
                self._restart()
                result = _Run(self._control, job, submission, limits).result()
        result.seed = seed
        return result

    def _restart(self) -> None:
        logger.error("sandbox zygote %s died (exit %s); starting a new one", self.pid, self._process.poll())
        self.close()
        self._start()


class SandboxError(RuntimeError):
    """The sandbox failed, not the learner's code: the submission should be retried, not graded."""


class ZygoteGone(ConnectionError):
    """The zygote's control socket closed before a job started."""


class _Run:
    """One run seen from the worker: collect the pipes, enforce wall time and sizes, decide the verdict.

    The child closes its output, sends its result (sealed with its length) and waits. The moment the
    result is complete (all of it arrived, or the pipe ended), the worker reads the kernel's account of
    the child's address space and kills it, so nothing learner code arranged (a replaced ``os._exit``, a
    loop in ``atexit`` or a finaliser, a copy of the result pipe) runs on. Every run then
    waits for the zygote's ``exited`` notice: CPU time and peak memory come from its wait4 rusage, never
    from the child, and it says whether the child got as far as running learner code.
    """

    def __init__(self, control: socket.socket, job: dict[str, Any], submission: bytes, limits: Limits) -> None:
        self.limits = limits
        self.quiet: bool = job["quiet"]
        self.called = time.monotonic()
        self.killed_for: str | None = None  # the limit the worker killed the child for
        self.result_complete = False  # the result was complete while the child lived, and the worker killed it
        self.peak_address_space: int | None = None
        self.exception_name: str | None = None
        self.exited: dict[str, Any] | None = None
        self.ended_at: float | None = None
        self.result_at: float | None = None
        pipes = [os.pipe() for _ in range(1 if self.quiet else 3)]  # result, then stdout and stderr
        self.result_fd = pipes[0][0]
        self.stream_fds = [read_end for read_end, _ in pipes[1:]]
        self.buffers = {read_end: bytearray() for read_end, _ in pipes}
        self.truncated: set[int] = set()
        try:
            try:
                wire.send_message(control, job, [write_end for _, write_end in pipes], body=submission)
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise ZygoteGone from exc
            finally:
                for _, write_end in pipes:
                    os.close(write_end)
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
        """The zygote's answer to our job, past notices about earlier runs (the exit of a run that was
        interrupted by an exception in the worker, e.g. Celery's soft time limit, and its job's answer)."""
        while True:
            got = wire.recv_message(control)
            if got is None:
                return {}
            message, fds = got
            if message.get("job") == job_id:
                return {**message, "fds": fds}
            for fd in fds:
                os.close(fd)

    def _kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _kill_for(self, limit: str) -> None:
        if self.killed_for is None and not self.result_complete:
            self.killed_for = limit
            self._kill()

    def _collect(self, control: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        for fd in self.buffers:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(control, selectors.EVENT_READ)
        deadline = self.called + self.limits.wall_seconds
        open_pipes = set(self.buffers)
        try:
            while not (self.exited and (not open_pipes or time.monotonic() >= self.ended_at + _DRAIN_TIMEOUT_S)):
                now = time.monotonic()
                if self.exited is not None:
                    until = self.ended_at + _DRAIN_TIMEOUT_S
                elif self.killed_for or self.result_complete:
                    until = now + 3600  # killed: the exited notice comes next
                elif now >= deadline:
                    self._kill_for("time")
                    continue
                else:
                    until = deadline
                for key, _ in selector.select(until - now):
                    if key.fileobj is control:
                        self._notice(control, selector)
                    else:
                        self._read(key.fd, selector, open_pipes)
        finally:
            selector.close()

    def _notice(self, control: socket.socket, selector: selectors.BaseSelector) -> None:
        got = wire.recv_message(control)
        if got is None:  # the zygote died; it takes its children with it (PR_SET_PDEATHSIG)
            self.exited = {"exited": None}
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
                self._result_ended()
            return
        if fd == self.result_fd:
            if len(self.buffers[fd]) + len(chunk) > self.limits.max_result_bytes:
                self._kill_for("result")
            else:
                self.buffers[fd] += chunk
                if wire.sealed_length(self.buffers[fd]) is not None:
                    selector.unregister(fd)
                    open_pipes.discard(fd)
                    self._result_ended()
            return
        room = self.limits.max_output_bytes - sum(len(self.buffers[stream]) for stream in self.stream_fds)
        self.buffers[fd] += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.truncated.add(fd)
            self._kill_for("output")

    def _result_ended(self) -> None:
        """The result is complete (the length it declares has arrived, or the channel is closed): note the
        child's peak address space, then kill it at once."""
        self.result_at = time.monotonic()
        if self.exited is None and self.killed_for is None:
            self.peak_address_space = _peak_address_space(self.pid, self.pidfd)
            self.result_complete = True
            self._kill()

    def _text(self, fd: int) -> str:
        text = self.buffers[fd].decode("utf-8", errors="replace")
        if fd in self.truncated:
            text += f"\n[output truncated: the limit is {human_bytes(self.limits.max_output_bytes)}]"
        return text

    def _where(self, line: int | None) -> str:
        return f" (line {line})" if line and not self.quiet else ""

    def result(self) -> SandboxResult:
        exited = self.exited
        status_word = exited["exited"]
        if status_word is None:
            raise SandboxError("the sandbox's zygote died during the run")
        if not exited["ran"]:
            why = exited["error"] or _ended(status_word)
            raise SandboxError(f"the sandbox child failed before it ran the code: {why}")
        stdout, stderr = (self._text(fd) for fd in self.stream_fds) if self.stream_fds else ("", "")
        result = SandboxResult(
            status="killed",
            stdout=stdout,
            stderr=stderr,
            resources={
                "wall_ms": round(((self.result_at if self.result_complete else self.ended_at) - self.called) * 1000),
                "cpu_ms": exited["cpu_ms"],
                "max_rss_kb": exited["max_rss_kb"],
            },
            timings={"start_ms": None, "collect_ms": None, "finish_ms": None},
        )
        signum = os.WTERMSIG(status_word) if os.WIFSIGNALED(status_word) else None
        cpu_spent = exited["cpu_ms"] >= self.limits.cpu_seconds * 1000
        out_of_cpu = signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_spent)
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
        elif self.result_complete and self.buffers[self.result_fd]:
            self._apply_frame(result)
        elif self.result_complete and signum == signal.SIGKILL:  # the worker's kill, with nothing sent
            result.status = "invalid_result"
            result.message = f"your code closed the result channel (descriptor {RESULT_FD}) without sending a result"
        elif out_of_cpu:
            result.status = "time_limit"
            result.message = f"CPU time limit of {human_seconds(self.limits.cpu_seconds)} exceeded"
        elif self.buffers[self.result_fd]:  # it exited by itself right after sending: the result still counts
            self._apply_frame(result)
        elif signum is not None:
            result.message = f"killed by signal {_signal_name(signum)}"
        else:
            result.status = "invalid_result"
            result.message = (
                f"your code ended the process (exit code {os.WEXITSTATUS(status_word)}) before a result was "
                "returned; return from your functions instead of calling sys.exit() or os._exit()"
            )
        if self.quiet:
            self._silence(result)
        return result

    def _apply_frame(self, result: SandboxResult) -> None:
        """The verdict from the child's frame: bytes learner code could have written, so every field is
        checked, and where a limit is concerned the words are the parent's, from its own limits."""
        received_at = self.result_at or self.ended_at
        result.status = "invalid_result"
        try:
            frame = wire.unseal(self.buffers[self.result_fd])
            status = frame["status"]
            if status not in _CHILD_STATUSES:
                raise wire.WireError("the result channel carried an unknown status")
        except (wire.WireError, KeyError, TypeError) as exc:
            result.message = str(exc)
            return
        decoded_at = time.monotonic()
        line = frame.get("line")
        result.line = line if isinstance(line, int) and not isinstance(line, bool) else None
        message = frame.get("message")
        result.status, result.message = status, message if isinstance(message, str) else ""
        name = frame.get("exception")
        self.exception_name = name if isinstance(name, str) else None
        if status == "exception" and frame.get("memory_error") is True:
            result.status, result.message = self._memory_verdict(result.message, result.line)
        elif status == "output_limit" and frame.get("limit") == "file":
            limit = human_bytes(self.limits.max_file_bytes)
            result.message = f"file size limit of {limit} exceeded{self._where(result.line)}"
        elif status == "output_limit":
            result.message = (
                f"your code filled its working folder: the limit is {human_bytes(self.limits.max_folder_bytes)} "
                f"and {self.limits.max_folder_files} files{self._where(result.line)}"
            )
        outputs = frame.get("outputs")
        result.outputs = outputs if status == "ok" and isinstance(outputs, dict) else None
        if status == "ok" and result.outputs is None:
            result.status, result.message = "invalid_result", "the result is missing its outputs"
        started, finished = frame.get("started_at"), frame.get("finished_at")
        result.timings = {
            "start_ms": _ms(started - self.called) if isinstance(started, float) else None,
            "collect_ms": _ms(decoded_at - received_at),
            "finish_ms": _ms(time.monotonic() - finished) if isinstance(finished, float) else None,
        }

    def _memory_verdict(self, traceback_text: str, line: int | None) -> tuple[str, str]:
        """``memory_limit`` only where the kernel's account shows the limit was reached.

        What refuses an allocation is RLIMIT_AS, which the child set (and reported to the zygote) before
        any learner code ran; so the figure to hold against it is the child's peak address space,
        VmPeak, read by the worker from /proc before it killed the child. wait4's ru_maxrss would not
        do: pages reserved but never touched count against RLIMIT_AS but not in the resident set. Within
        ``_MEMORY_MARGIN`` (or 1/16 of the limit) of the limit, the last allocation was refused for want
        of room: the limit was reached. Further below, the kernel kept no trace of why: one allocation
        larger than what was left (``torch.empty(10**12)``) and a bare ``raise MemoryError`` look the
        same, and the frame's words, which learner code can write, cannot settle it, so the message
        gives the figures and says so.
        """
        name = self.exception_name or "MemoryError"
        where = self._where(line)
        memory = human_bytes(self.limits.memory_bytes)
        limit = self.exited.get("address_space_limit")
        if not isinstance(limit, int) or self.peak_address_space is None:
            return "exception", (
                f"{name} was raised{where}; the sandbox could not measure the memory your code used, so it "
                f"cannot tell whether the {memory} limit was reached\n\n{traceback_text}"
            )
        left = max(limit - self.peak_address_space, 0)
        if left <= max(_MEMORY_MARGIN, self.limits.memory_bytes // 16):
            return "memory_limit", f"memory limit of {memory} exceeded{where}"
        used = max(self.limits.memory_bytes - left, 0)
        return "exception", (
            f"{name} was raised{where} while your code used {_mib(used)} of its {memory} memory limit (the "
            f"kernel's figure for its peak): either one allocation larger than the {_mib(left)} left was refused, "
            f"or your code raised {name} itself; the sandbox cannot tell which\n\n{traceback_text}"
        )

    def _silence(self, result: SandboxResult) -> None:
        """A quiet run's result carries nothing the child wrote but its outputs: messages the child could
        have chosen are replaced by fixed words; an exception is named only by a built-in exception's name."""
        result.stdout = result.stderr = ""
        result.line = None
        if result.status == "exception":
            result.message = self.exception_name if self.exception_name in _BUILTIN_EXCEPTIONS else "an exception"
        elif result.status == "syntax_error":
            result.message = "SyntaxError"
        elif result.status == "invalid_result":
            result.message = "the result could not be used"
        elif result.status == "killed":
            result.message = "the process was killed by a signal"


def _peak_address_space(pid: int, pidfd: int) -> int | None:
    """The live child's VmPeak in bytes; None once it has exited (a zombie has no memory to account for)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            text = status.read()
        signal.pidfd_send_signal(pidfd, 0)  # still alive, so the pid read above was not reused
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in text.splitlines():
        if line.startswith(b"VmPeak:"):
            return int(line.split()[1]) * 1024
    return None


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB"


def _ended(status_word: int) -> str:
    if os.WIFSIGNALED(status_word):
        return f"it was killed by signal {_signal_name(os.WTERMSIG(status_word))}"
    return f"it exited with code {os.WEXITSTATUS(status_word)}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
