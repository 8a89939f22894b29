"""What happens inside the single-use child: confine it, run the learner's module, send plain data back."""

from __future__ import annotations

import errno
import fcntl
import importlib
import io
import linecache
import os
import random
import signal
import socket
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.exercises.base import InvalidOutput
from workers.sandbox import wire
from workers.sandbox.isolation import RESULT_FD, Confinement
from workers.sandbox.limits import Limits

FILENAME = "solution.py"
_MAX_MESSAGE = 4000
_FOLDER_ERRNOS = {errno.ENOSPC: "folder", errno.EDQUOT: "folder", errno.EFBIG: "file"}

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
    _seed(0)  # its first call imports and initialises lazily: once here, not in every child


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
    folder_limits: Limits,
    preloaded: dict[str, Any],
    device: str,
    zygote_pid: int,
) -> None:
    """A pre-started single-use child. Never returns.

    Everything that does not depend on the submission happens before it arrives: its own session, fresh
    network and IPC namespaces, a private mount namespace (its own /proc, its run folder a tmpfs sized by
    ``folder_limits``), on a GPU its own CUDA context (a child forked from a parent that initialised CUDA
    cannot) with the models moved there, Landlock, closing the zygote's descriptors, the uid drop and
    seccomp. It then tells the zygote on ``control`` that it is confined, or why it is not: the zygote
    hands a job only to a spare that confirmed. With the job (and its result, stdout and stderr pipe
    ends) it sets the run up and says so, with the address-space limit it set, or says why it could not,
    and closes ``control``. Only then does learner code run, so whatever the child does afterwards, its
    exit status included, is the learner's doing and never mistaken for the sandbox's failure.
    """
    try:
        try:
            control = _above_result_fd(control)
            os.setsid()
            confinement.unshare_network_and_ipc()
            confinement.private_mounts(run_dir, uid, folder_limits)
            own_fds: frozenset[int] = frozenset()
            if device == "cuda":
                preloaded, own_fds = _onto_gpu(preloaded)
            confinement.restrict_files(run_dir)
            confinement.isolate(run_dir, uid, keep_fds=frozenset({0, 1, 2, control.fileno()}) | own_fds)
            if os.getppid() != zygote_pid:  # the zygote died before PR_SET_PDEATHSIG was set
                os._exit(0)
            wire.send_message(control, {"confined": True})
            got = wire.recv_message(control)
            if got is None:  # the zygote is discarding this spare
                os._exit(0)
            job, (result_fd, *stream_fds) = got
            job.update(wire.decode(bytes(wire.recv_body(control, job))))
            entry = resolve(job["entry"])
            limits = Limits(**job["limits"])
            _own_descriptors(confinement, result_fd, stream_fds, control.fileno(), own_fds)
            address_space_limit = confinement.apply_limits(limits, device)
            _seed(job["seed"])
            wire.send_message(control, {"running": True, "address_space_limit": address_space_limit})
            control.close()
        except BaseException:  # noqa: BLE001 - no learner code has run: the failure is the sandbox's
            _refuse(control)
        _send_and_wait(run_learner(job["code"], entry, job["inputs"], preloaded), limits)
    finally:
        os._exit(1)  # this is a fork of the zygote: never return into its loop


def _above_result_fd(control: socket.socket) -> socket.socket:
    """``control`` moved above the descriptors a run uses (0-3), so placing those never closes it."""
    moved = socket.socket(fileno=fcntl.fcntl(control.fileno(), fcntl.F_DUPFD_CLOEXEC, RESULT_FD + 1))
    control.close()
    return moved


def _refuse(control: socket.socket) -> None:
    """Tell the zygote why this child cannot run learner code, and exit."""
    try:
        wire.send_message(control, {"error": traceback.format_exc(limit=-3)[-_MAX_MESSAGE:]})
    finally:
        os._exit(1)


def _own_descriptors(
    confinement: Confinement, result_fd: int, stream_fds: list[int], control_fd: int, own_fds: frozenset[int]
) -> None:
    """The run's descriptors and no others: the result pipe at ``RESULT_FD``; stdin from /dev/null and
    the stdout and stderr pipes at 0-2, or, in a quiet run (no stream pipes), 0-2 closed, not
    redirected, so nothing the child writes below Python can reach anyone, and ``sys.stdout`` and
    ``sys.stderr`` discarding what ``print`` writes."""
    targets = [(result_fd, RESULT_FD)]
    if stream_fds:
        stdout_fd, stderr_fd = stream_fds
        targets += [(os.open(os.devnull, os.O_RDONLY), 0), (stdout_fd, 1), (stderr_fd, 2)]
    for source, target in targets:
        os.dup2(source, target)
    confinement.close_fds_except(frozenset({RESULT_FD, control_fd, *(t for _, t in targets)}) | own_fds)
    if stream_fds:
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    else:
        sys.stdout = sys.stderr = _Discard()


class _Discard(io.TextIOBase):
    """Where a quiet run's ``print`` goes: accepted and dropped."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _seed(seed: int) -> None:
    """Fresh randomness per run: Python's, NumPy's global and torch's generators from the worker's seed
    (each child starts as a copy of the zygote, whose generators would otherwise give every run the
    same numbers)."""
    import torch

    random.seed(seed)
    np.random.seed([seed & 0xFFFFFFFF, seed >> 32])
    torch.manual_seed(seed)


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


def _send_and_wait(frame: dict[str, Any], limits: Limits) -> None:
    """Close stdout and stderr (so the worker sees the end of the output now), send the frame, close
    every descriptor, and wait to be killed: the worker kills the child once the result is complete,
    after reading the kernel's account of its memory, which an exit would have taken with it."""
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
    try:
        data = wire.encode(frame, limits.max_result_bytes)
    except Exception as exc:  # noqa: BLE001 - learner objects (a tensor subclass) can raise anything here
        why = str(exc) if isinstance(exc, wire.WireError) else f"the result could not be sent ({type(exc).__name__})"
        data = wire.encode(_frame("invalid_result", why, None, frame["started_at"]), limits.max_result_bytes)
    try:
        _write_all(RESULT_FD, wire.seal(data))
    finally:
        os.closerange(0, os.sysconf("SC_OPEN_MAX"))  # copies of the result pipe too, so the worker sees its end
        while True:
            signal.pause()


def run_learner(
    code: str,
    entry: Callable[[dict, dict, dict], dict],
    inputs: dict[str, Any],
    preloaded: dict[str, Any],
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
        return _exception_frame(exc, started_at)
    return {**_frame("ok", "", None, started_at), "outputs": outputs}


def _frame(
    status: str, message: str, line: int | None, started_at: float | None = None, **facts: str | bool | None
) -> dict[str, Any]:
    """What the child reports. ``facts`` are for the parent, which writes the verdict's words itself where
    a limit is concerned: ``exception`` (the type's name), ``memory_error``, ``limit`` ("folder", "file")."""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE // 2] + "\n[...]\n" + message[-_MAX_MESSAGE // 2 :]
    return {
        "status": status,
        "outputs": None,
        "message": message,
        "line": line,
        "started_at": started_at,
        "finished_at": time.monotonic(),
        **facts,
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


def _exception_frame(exc: BaseException, started_at: float) -> dict[str, Any]:
    """The exception as the learner's traceback; whether a memory or a folder limit explains it is the
    parent's call (from the kernel's account, and from its own limits for the words)."""
    line = _learner_line(exc)
    if isinstance(exc, OSError) and exc.errno in _FOLDER_ERRNOS:
        return _frame("output_limit", "", line, started_at, limit=_FOLDER_ERRNOS[exc.errno])
    frames = _learner_frames(exc)
    text = "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
    if frames:
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text
    torch_out_of_memory = isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
    memory_error = isinstance(exc, MemoryError) or torch_out_of_memory
    name = type(exc).__name__
    return _frame("exception", text + _hint(exc), line, started_at, exception=name, memory_error=memory_error)


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
