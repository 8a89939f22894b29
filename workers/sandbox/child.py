"""What happens inside the single-use child: confine it, run the learner's module, send plain data back."""

from __future__ import annotations

import errno
import importlib
import linecache
import os
import resource
import socket
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

from workers.exercises.base import InvalidOutput
from workers.sandbox import wire
from workers.sandbox.isolation import RESULT_FD, Confinement
from workers.sandbox.limits import Limits, human_bytes

FILENAME = "solution.py"
ISOLATION_FAILED = 121
_MAX_MESSAGE = 4000

# Imported in the warm parent: after the uid drop and Landlock, learner code can import only these
# (and what they import). Documented for learners in README "Worker host isolation".
PRELOADED_MODULES = (
    "abc", "bisect", "cmath", "collections", "copy", "dataclasses", "decimal", "einops", "encodings.idna", "enum",
    "fractions", "functools", "heapq", "itertools", "json", "math", "matplotlib", "matplotlib.pyplot", "numpy",
    "operator", "random", "re", "statistics", "string", "textwrap", "time", "torch", "torch.nn",
    "torch.nn.functional", "transformer_lens", "typing", "warnings",
)


def warm_imports() -> None:
    """Bring the zygote to the warm state every child starts from. torch must be single-threaded before
    its first op, or a forked child hangs on its own first op."""
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    for name in PRELOADED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # an optional library (einops) that this environment lacks
    (torch.ones(2, 2) @ torch.ones(2, 2)).sum().item()


def resolve(reference: str) -> Callable[..., Any]:
    """"package.module:Class.function" -> the function (the zygote never receives code objects or pickles)."""
    module_name, _, qualname = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def spare_main(
    confinement: Confinement,
    control: socket.socket,
    uid: int,
    run_dir: str,
    preloaded: dict[str, Any],
    device: str,
    zygote_pid: int,
) -> None:
    """A pre-started single-use child. Never returns.

    Everything that does not depend on the submission happens before it arrives: its own session, a
    fresh network namespace, on a GPU its own CUDA context (a child forked from a parent that
    initialised CUDA cannot) with the models moved there, Landlock, closing the zygote's descriptors,
    the uid drop and seccomp. Then it waits on ``control`` for its one job and the result, stdout and
    stderr pipe ends, and sets the job's limits.
    """
    try:
        os.setsid()
        confinement.unshare_network()
        own_fds: frozenset[int] = frozenset()
        if device == "cuda":
            preloaded, own_fds = _onto_gpu(preloaded)
        confinement.restrict_files(run_dir)
        confinement.isolate(run_dir, uid, keep_fds=frozenset({0, 1, 2, control.fileno()}) | own_fds)
        if os.getppid() != zygote_pid:  # the zygote died before PR_SET_PDEATHSIG was set
            os._exit(0)
        got = wire.recv_message(control)
        if got is None:
            os._exit(0)
        job, (result_fd, stdout_fd, stderr_fd) = got
        job.update(wire.decode(bytes(wire.recv_body(control, job))))
        entry = resolve(job["entry"])
        limits = Limits(**job["limits"])
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (stdout_fd, 1), (stderr_fd, 2), (result_fd, RESULT_FD)):
            os.dup2(source, target)
        confinement.close_fds_except(frozenset({0, 1, 2, RESULT_FD}) | own_fds)
        confinement.apply_limits(limits, device)
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    except BaseException:  # noqa: BLE001 - a child that is not confined must not run learner code
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(ISOLATION_FAILED)
    _send_and_exit(run_learner(job["code"], entry, job["inputs"], preloaded, limits), limits)


def _onto_gpu(preloaded: dict[str, Any]) -> tuple[dict[str, Any], frozenset[int]]:
    """Move preloaded tensors and modules to this child's own CUDA context; return them and the
    descriptors the CUDA driver opened (kept open, unlike everything inherited)."""
    import torch

    before = set(map(int, os.listdir("/proc/self/fd")))
    torch.cuda.init()
    on_gpu = {
        name: value.to("cuda") if isinstance(value, (torch.Tensor, torch.nn.Module)) else value
        for name, value in preloaded.items()
    }
    torch.cuda.synchronize()
    return on_gpu, frozenset(set(map(int, os.listdir("/proc/self/fd"))) - before)


def _send_and_exit(frame: dict[str, Any], limits: Limits) -> None:
    """Close stdout and stderr (so the worker sees the end of the output now, not after the exit's
    teardown), send the frame with what the kernel says we used, and exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    for fd in (1, 2):
        try:
            os.close(fd)
        except OSError:
            pass
    usage = resource.getrusage(resource.RUSAGE_SELF)
    frame["cpu_ms"] = round((usage.ru_utime + usage.ru_stime) * 1000)
    frame["max_rss_kb"] = usage.ru_maxrss
    try:
        data = wire.encode(frame, limits.max_result_bytes)
    except (wire.WireError, RecursionError) as exc:
        frame.update(status="invalid_result", outputs=None, message=str(exc))
        data = wire.encode(frame, limits.max_result_bytes)
    try:
        _write_all(RESULT_FD, data)
        os.close(RESULT_FD)  # now: at exit the kernel closes descriptors only after unmapping the memory
    finally:
        os._exit(0)


def run_learner(
    code: str,
    entry: Callable[[dict, dict, dict], dict],
    inputs: dict[str, Any],
    preloaded: dict[str, Any],
    limits: Limits,
) -> dict[str, Any]:
    """Execute the learner's module, then the trusted ``entry`` that calls into it; return the frame to send."""
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    try:
        compiled = compile(code, FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _frame("syntax_error", _syntax_message(exc), exc.lineno)
    except (ValueError, MemoryError, RecursionError) as exc:
        return _frame("syntax_error", f"your code could not be read: {exc}", None)
    module = types.ModuleType("solution")
    module.__file__ = FILENAME
    sys.modules["solution"] = module
    started_at = time.monotonic()
    try:
        exec(compiled, module.__dict__)
        outputs = entry(module.__dict__, inputs, preloaded)
        if not isinstance(outputs, dict):
            raise InvalidOutput(f"the grader's function returned a {type(outputs).__name__}, not a dict")
    except InvalidOutput as exc:
        return _frame("invalid_result", str(exc), _learner_line(exc), started_at)
    except BaseException as exc:  # noqa: BLE001 - everything the learner's code raises becomes a verdict
        return _exception_frame(exc, limits, started_at)
    return {**_frame("ok", "", None, started_at), "outputs": outputs}


def _frame(status: str, message: str, line: int | None, started_at: float | None = None) -> dict[str, Any]:
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE // 2] + "\n[...]\n" + message[-_MAX_MESSAGE // 2 :]
    return {
        "status": status,
        "outputs": None,
        "message": message,
        "line": line,
        "started_at": started_at,
        "finished_at": time.monotonic(),
    }


def _syntax_message(exc: SyntaxError) -> str:
    message = f"SyntaxError on line {exc.lineno}: {exc.msg}"
    if exc.text:
        text = exc.text.rstrip("\n")
        stripped = text.lstrip()
        message += f"\n    {stripped}"
        if exc.offset:
            message += "\n    " + " " * max(exc.offset - 1 - (len(text) - len(stripped)), 0) + "^"
    return message


def _learner_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    return [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == FILENAME]


def _learner_line(exc: BaseException) -> int | None:
    frames = _learner_frames(exc)
    return frames[-1].lineno if frames else None


def _exception_frame(exc: BaseException, limits: Limits, started_at: float) -> dict[str, Any]:
    line = _learner_line(exc)
    where = f" (line {line})" if line else ""
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)):
        message = f"memory limit of {human_bytes(limits.memory_bytes)} exceeded{where}"
        return _frame("memory_limit", message, line, started_at)
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        message = f"file size limit of {human_bytes(limits.max_file_bytes)} exceeded{where}"
        return _frame("output_limit", message, line, started_at)
    frames = _learner_frames(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
    return _frame("exception", text + _hint(exc), line, started_at)


def _hint(exc: BaseException) -> str:
    """What the sandbox did to cause this exception, where it was the sandbox."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, ModuleNotFoundError):
        return "\nModules you can import here: " + ", ".join(sorted(set(PRELOADED_MODULES) & set(sys.modules)))
    if (isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN) or "can't start new thread" in str(exc):
        return "\nNote: code here cannot start processes or threads."
    if isinstance(exc, PermissionError) and any(frame.filename.endswith("socket.py") for frame in frames):
        return "\nNote: code here has no network access."
    if isinstance(exc, PermissionError) and exc.filename:
        return "\nNote: code here can only use files in its own working folder."
    return ""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
