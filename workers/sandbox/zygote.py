"""The warm parent: a fresh interpreter (never the Django worker itself, whose memory holds secrets) that
imports torch and TransformerLens, runs ``preload`` once, and keeps one single-use child pre-started.

Started by ``Sandbox`` as ``python -m workers.sandbox.zygote <control fd>``; it dies with its worker.
Messages on the control socket (``wire`` frames; file descriptors travel with SCM_RIGHTS):
  worker -> zygote: the config, then one job per submission, with its result pipe end and, unless the
  run is quiet, its stdout and stderr pipe ends;
  zygote -> worker: ``ready`` (or ``error``); per job ``started`` (with a pidfd) or ``error``; and,
  whenever a child has been reaped, ``exited``: its wait4 status and rusage, whether it got as far as
  running learner code, and the address-space limit it set.

The pre-started child (the spare) confines itself, says so on its own socket, and takes the next job
at once; a new spare is forked while that job runs, under another of the slot's uids, so forking this
large process is not on a submission's path. A child's teardown is (the worker waits for the kernel's
account of it); both are kept to a few milliseconds by backing the warm heap with huge pages.
"""

from __future__ import annotations

import ctypes
import gc
import os
import selectors
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

from workers.sandbox import child, isolation, wire
from workers.sandbox.limits import Limits

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_MADV_COLLAPSE = 25  # Linux >= 6.1
_HUGE_PAGE = 2 * 1024**2
_DEADLINE_GRACE_S = 2.0  # the worker kills at the wall limit; the zygote is the backstop
_CONFINE_TIMEOUT_S = 60.0  # a spare on a GPU creates a CUDA context and moves the models first


@dataclass
class _Child:
    pid: int
    uid: int
    run_dir: str
    folder: tuple[int, int]  # its run folder's size and file limits, mounted before any job
    control: socket.socket  # its own socket: confinement, the job, then what it said before learner code
    pidfd: int | None = None
    started: float = 0.0
    deadline: float = float("inf")
    may_have_spawned: bool = False


class Zygote:
    def __init__(self, control: socket.socket, config: dict[str, Any]) -> None:
        self.control = control
        self.device = config["device"]
        child.warm_imports()
        self.preloaded = child.resolve(config["preload"])() if config["preload"] else {}
        if not isinstance(self.preloaded, dict):
            raise TypeError(f"preload must return a dict, not {type(self.preloaded).__name__}")
        torch = sys.modules["torch"]
        if self.device == "cuda" and not torch.backends.cuda.is_built():
            raise RuntimeError("device='cuda' needs a torch built with CUDA; this one is CPU-only")
        if torch.cuda.is_initialized():
            raise RuntimeError(
                "preload initialised CUDA in the zygote, so no child could use the GPU: load the models on the "
                "CPU (with device='cuda' each child moves them into its own CUDA context)"
            )
        self.slot = isolation.acquire_slot()
        self.confinement = isolation.Confinement.prepare(self.slot, isolation.read_paths_for_python(), self.device)
        self.missing = self.confinement.probe()
        self.folder_limits = Limits()  # the last job's: the next spare mounts its run folder with them
        gc.freeze()  # children's garbage collections then leave the warm objects' pages shared
        _collapse_into_huge_pages()
        self.spare: _Child | None = None
        self.running: dict[int, _Child] = {}
        self.selector = selectors.DefaultSelector()

    def serve(self) -> None:
        self.selector.register(self.control, selectors.EVENT_READ)
        while True:
            if self.spare is None and self._free_uid() is not None:
                self.spare = self._start_spare(self._free_uid())
            deadline = min((c.deadline for c in self.running.values()), default=float("inf"))
            timeout = None if deadline == float("inf") else max(deadline - time.monotonic(), 0)
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.control:
                    got = wire.recv_message(self.control)
                    if got is None:
                        self._stop()
                        return
                    self._take_job(*got)
                elif key.data in self.running:  # not already finished to free its uid for a job
                    self._finish(key.data)
            now = time.monotonic()
            for running in self.running.values():
                if now >= running.deadline:
                    signal.pidfd_send_signal(running.pidfd, signal.SIGKILL)
                    running.deadline = float("inf")

    def _stop(self) -> None:
        """The worker is gone: kill every child and remove every run folder."""
        for running in list(self.running.values()):
            signal.pidfd_send_signal(running.pidfd, signal.SIGKILL)
            self._finish(running.pid, notify=False)
        if self.spare is not None:
            self._discard_spare()

    def _free_uid(self) -> int | None:
        busy = {c.uid for c in self.running.values()} | ({self.spare.uid} if self.spare else set())
        return next((uid for uid in self.slot.uids if uid not in busy), None)

    def _start_spare(self, uid: int) -> _Child:
        ours, theirs = socket.socketpair()
        run_dir = self.confinement.make_run_dir(uid)
        sys.stdout.flush()
        sys.stderr.flush()
        zygote_pid = os.getpid()
        pid = os.fork()
        if pid == 0:
            ours.close()
            self.control.close()
            child.spare_main(
                self.confinement, theirs, uid, run_dir, self.folder_limits, self.preloaded, self.device, zygote_pid
            )
        theirs.close()
        return _Child(pid=pid, uid=uid, run_dir=run_dir, folder=_folder(self.folder_limits), control=ours)

    def _take_job(self, job: dict[str, Any], fds: list[int]) -> None:
        """Hand a job to a spare that confirmed its confinement. The submission (code, inputs) only passes
        through a buffer that is wiped afterwards: every later child starts as a copy of this process's memory."""
        submission = wire.recv_body(self.control, job)
        try:
            try:
                limits = Limits(**job["limits"])
                module = job["entry"].partition(":")[0]
                self.folder_limits = limits
                if self.spare is not None and (module not in sys.modules or self.spare.folder != _folder(limits)):
                    self._discard_spare()  # it could not import the module now, or its folder has other limits
                child.resolve(job["entry"])  # imported here once, so every later child inherits it
            except Exception as exc:  # noqa: BLE001 - a bad request is reported, the zygote keeps serving
                wire.send_message(self.control, {"error": f"{type(exc).__name__}: {exc}", "job": job["id"]})
                return
            spare, failure = self._confined_spare()
            if spare is not None:
                try:
                    wire.send_message(spare.control, job, fds, body=submission)
                except OSError as exc:  # it died since it confirmed (OOM killer, an operator)
                    self._discard(spare)
                    spare, failure = None, f"died before it started ({exc})"
            if spare is None:
                wire.send_message(self.control, {"error": f"the sandbox child {failure}", "job": job["id"]})
                return
        finally:
            submission[:] = bytes(len(submission))
            for fd in fds:
                os.close(fd)
        spare.pidfd = os.pidfd_open(spare.pid)
        spare.started = time.monotonic()
        spare.deadline = spare.started + limits.wall_seconds + _DEADLINE_GRACE_S
        spare.may_have_spawned = limits.max_processes > 1
        self.running[spare.pid] = spare
        self.selector.register(spare.pidfd, selectors.EVENT_READ, data=spare.pid)
        wire.send_message(self.control, {"started": spare.pid, "job": job["id"]}, [spare.pidfd])

    def _confined_spare(self) -> tuple[_Child | None, str]:
        """The spare once it has said it is confined, or None and why not. A spare that died without a
        word (the OOM killer, an operator) is replaced once; one that failed to confine itself is not:
        the next would fail the same way."""
        failure = ""
        for _attempt in range(2):
            if self.spare is None:
                if self._free_uid() is None:
                    self._kill_oldest_run()
                self.spare = self._start_spare(self._free_uid())
            spare, self.spare = self.spare, None
            spare.control.settimeout(_CONFINE_TIMEOUT_S)
            try:
                got = wire.recv_message(spare.control)
            except OSError:  # timed out, or reset
                got = None
            spare.control.settimeout(None)
            if got is not None and got[0].get("confined") is True:
                return spare, ""
            self._discard(spare)
            if got is not None:
                return None, f"could not confine itself:\n{got[0].get('error')}"
            failure = "died before it confirmed its confinement"
        return None, failure

    def _discard_spare(self) -> None:
        spare, self.spare = self.spare, None
        self._discard(spare)

    def _discard(self, spare: _Child) -> None:
        spare.control.close()
        os.kill(spare.pid, signal.SIGKILL)
        os.waitpid(spare.pid, 0)
        shutil.rmtree(spare.run_dir, ignore_errors=True)

    def _kill_oldest_run(self) -> None:
        """Every uid is held by an earlier run that the worker is done with (it sends one job at a time):
        they are exiting, or still running after sending their result. Kill the oldest."""
        oldest = min(self.running.values(), key=lambda c: c.started)
        signal.pidfd_send_signal(oldest.pidfd, signal.SIGKILL)
        self._finish(oldest.pid)

    def _finish(self, pid: int, notify: bool = True) -> None:
        """After a child exited: kill what it left, reap it, tell the worker what the kernel and the child's
        set-up said, then wait for its background processes and remove its folder (its contents were on
        the child's tmpfs, gone with its mount namespace)."""
        done = self.running.pop(pid)
        self.selector.unregister(done.pidfd)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        self.confinement.kill_leftovers(pid, done.uid, done.may_have_spawned)
        _, status, usage = os.wait4(pid, 0)
        os.close(done.pidfd)
        setup = _setup_report(done.control)
        if notify:
            wire.send_message(
                self.control,
                {
                    "exited": status,
                    "pid": pid,
                    "cpu_ms": round((usage.ru_utime + usage.ru_stime) * 1000),
                    "max_rss_kb": usage.ru_maxrss,
                    "ran": setup.get("running") is True,
                    "error": setup.get("error"),
                    "address_space_limit": setup.get("address_space_limit"),
                },
            )
        if done.may_have_spawned:
            self._reap_orphans(done.uid)
        shutil.rmtree(done.run_dir, ignore_errors=True)

    def _reap_orphans(self, uid: int) -> None:
        """Wait for the background processes of ``uid``: as a subreaper we inherited them, and
        ``kill_leftovers`` has just sent them SIGKILL."""
        with open(f"/proc/self/task/{os.getpid()}/children") as children:
            pids = [int(pid) for pid in children.read().split()]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as status:
                    real_uid = next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
                if real_uid == uid:
                    os.waitpid(pid, 0)
            except (FileNotFoundError, ProcessLookupError, ChildProcessError):
                pass


def _collapse_into_huge_pages() -> None:
    """Back the warm heap with transparent huge pages, so that forking a spare and tearing a child down
    handle one page-table entry per 2 MiB instead of 512: each takes a few milliseconds instead of tens,
    and a child's teardown is on every run's path (the worker waits for the kernel's account). A child's
    first write into such a page splits it and copies only 4 KiB, so the memory stays shared. Where the
    kernel cannot (before 6.1, THP disabled), a range simply stays as it is."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with open("/proc/self/maps") as maps:
        lines = maps.read().splitlines()
    for line in lines:
        fields = line.split()
        anonymous = len(fields) == 5 or fields[5] == "[heap]"
        if anonymous and fields[1] == "rw-p":
            start, end = (int(address, 16) for address in fields[0].split("-"))
            start = -(-start // _HUGE_PAGE) * _HUGE_PAGE
            end = end // _HUGE_PAGE * _HUGE_PAGE
            if end > start:
                libc.madvise(start, end - start, _MADV_COLLAPSE)


def _folder(limits: Limits) -> tuple[int, int]:
    return limits.max_folder_bytes, limits.max_folder_files


def _setup_report(control: socket.socket) -> dict[str, Any]:
    """What an exited child said after it took its job, before any learner code ran (it closed the
    socket then): ``running`` with its address-space limit, or the ``error`` that stopped it; {} if it
    died first. The child is gone, so everything it sent is already here."""
    control.setblocking(False)
    try:
        got = wire.recv_message(control)
    except OSError:
        got = None
    finally:
        control.close()
    return got[0] if got else {}


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
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
    wire.send_message(control, {"ready": True, "uids": zygote.slot.uids, "missing": zygote.missing, "pid": os.getpid()})
    try:
        zygote.serve()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the worker went away
    os._exit(0)  # nothing to flush; skipping interpreter teardown saves seconds per worker restart


if __name__ == "__main__":
    main()
