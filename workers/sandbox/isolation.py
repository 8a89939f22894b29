"""The kernel mechanisms that confine a child, prepared once in the zygote and applied in each child.

Layers, each enough on its own for some attacks and together for all we test:
- an unused uid per child, from a few per concurrent slot (no access to root-owned files or processes;
  RLIMIT_NPROC counts per uid);
- Landlock: read-only access to the libraries it runs on, full access to its own empty run folder only;
- fresh network and IPC namespaces, and a seccomp filter that denies sockets, System V and POSIX IPC,
  ptrace and new namespaces;
- a private mount namespace: its own /proc that shows no other user's processes, and its run folder a
  tmpfs of capped size and file count that disappears with it;
- setrlimit for CPU time, address space, file size, open files, processes, no core dumps;
- no_new_privs; its own session, so the zygote can kill the whole process group.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import logging
import os
import pwd
import resource
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workers.sandbox import landlock
from workers.sandbox.limits import Limits

logger = logging.getLogger("workers.sandbox")

ALLOW_WEAK_ENV = "MECHGRADE_SANDBOX_ALLOW_WEAK"
DIR_ENV = "MECHGRADE_SANDBOX_DIR"
UID_BASE_ENV = "MECHGRADE_SANDBOX_UID_BASE"
SLOTS_ENV = "MECHGRADE_SANDBOX_SLOTS"

RESULT_FD = 3
UIDS_PER_SLOT = 3
_CUDA_THREAD_ALLOWANCE = 4

_CLONE_NEWNET, _CLONE_NEWIPC, _CLONE_NEWNS = 0x40000000, 0x08000000, 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns", "mount", "umount2", "pivot_root",
    "chroot", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "open_by_handle_at", "name_to_handle_at", "reboot", "swapon", "swapoff", "acct",
    "quotactl", "settimeofday", "clock_settime", "adjtimex", "syslog", "personality", "mount_setattr",
    "fsopen", "fsmount", "move_mount", "open_tree",
    # IPC: the namespace already keeps objects from crossing runs; a learner has no use for them either
    "ipc", "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
    "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)
_SYSTEM_READ_PATHS = ("/usr", "/lib", "/lib64", "/bin", "/etc")  # and the child's own /proc (restrict_files)
_PROC_OPTIONS = ("hidepid=invisible", "hidepid=2")  # Linux >= 5.8 names it; older kernels take the number
_DEVICE_FILES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxUnavailable(RuntimeError):
    """This host cannot confine learner code as required, and weak mode was not allowed."""


def _libc_call(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


@dataclass
class Slot:
    """One concurrent sandbox, held for the zygote's lifetime by an flock on its lock file.

    It owns ``UIDS_PER_SLOT`` uids and takes them in turn, so the next child can be started while earlier
    ones are still being torn down, without any two sharing a process count or signalling each other.
    """

    uids: tuple[int, ...]
    lock_fd: int
    runs_dir: Path
    index: int


def sandbox_dir() -> Path:
    return Path(os.environ.get(DIR_ENV, Path(tempfile.gettempdir()) / "mechgrade-sandbox"))


def _private_dir(path: Path, mode: int) -> Path:
    """Create ``path`` owned by us; refuse one that someone else could have prepared (it may be in /tmp)."""
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        pass
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise SandboxUnavailable(f"{path} must be a directory owned by uid {os.geteuid()} and not writable by others")
    os.chmod(path, mode)
    return path


def _unused(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return True
    return False


def acquire_slot() -> Slot:
    """Lock the first free slot. Its uids must not belong to any account on this host."""
    root = _private_dir(sandbox_dir(), 0o711)
    runs = _private_dir(root / "runs", 0o711)
    base = int(os.environ.get(UID_BASE_ENV, "640000"))
    for index in range(int(os.environ.get(SLOTS_ENV, "64"))):
        uids = tuple(range(base + UIDS_PER_SLOT * index, base + UIDS_PER_SLOT * (index + 1)))
        if not all(map(_unused, uids)):
            continue
        fd = os.open(root / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        for stale in runs.glob(f"slot{index}-*"):  # left by a zygote of this slot that was killed
            shutil.rmtree(stale, ignore_errors=True)
        return Slot(uids=uids, lock_fd=fd, runs_dir=runs, index=index)
    raise SandboxUnavailable(f"all sandbox slots in {root} are busy; raise {SLOTS_ENV}")


@dataclass
class Confinement:
    """Everything a child needs to confine itself, prepared once in the zygote (path fds, seccomp filter)."""

    slot: Slot
    missing: dict[str, str] = field(default_factory=dict)  # mechanism -> why it is unavailable
    landlock_abi: int = 0
    read_rules: list[tuple[int, int]] = field(default_factory=list)
    seccomp_filter: object | None = None

    @classmethod
    def prepare(cls, slot: Slot, read_paths: list[str], device: str) -> Confinement:
        confinement = cls(slot=slot, landlock_abi=landlock.abi_version())
        for path in dict.fromkeys([*_SYSTEM_READ_PATHS, *read_paths]):
            if os.path.isdir(path):
                confinement.read_rules.append((os.open(path, os.O_PATH | os.O_CLOEXEC), landlock.READ_ONLY))
        devices = [*_DEVICE_FILES, *(str(p) for p in Path("/dev").glob("nvidia*") if device == "cuda")]
        for path in devices:
            if os.path.exists(path):
                confinement.read_rules.append((os.open(path, os.O_PATH | os.O_CLOEXEC), landlock.FILE_RIGHTS))
        try:
            confinement.seccomp_filter = _seccomp_filter()
        except (ImportError, RuntimeError, OSError) as exc:
            confinement.missing["seccomp"] = f"libseccomp is not usable ({exc})"
        return confinement

    def probe(self) -> dict[str, str]:
        """Try every mechanism in a throwaway child; return the ones that failed, with the reason."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            failures = dict(self.missing)
            os.close(read_end)
            steps = {
                "network and IPC namespaces": self.unshare_network_and_ipc,
                "mount namespace": lambda: self.private_mounts(str(self.slot.runs_dir), self.slot.uids[0], Limits()),
                "landlock": lambda: self.restrict_files(None),
                "user id": lambda: _drop_to(self.slot.uids[0]),
                "seccomp": lambda: self.seccomp_filter.load(),
            }
            if not self.landlock_abi:
                failures.setdefault("landlock", "not enabled in this kernel (Linux >= 5.13 with lsm=...,landlock)")
            for name, step in steps.items():
                if name in failures:
                    continue
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - any failure means the mechanism is unavailable
                    failures[name] = str(exc) or type(exc).__name__
            os.write(write_end, json.dumps(failures).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read().decode()
        os.waitpid(pid, 0)
        self.missing = json.loads(report) if report else {"probe": "the probe child crashed"}
        return self.missing

    def make_run_dir(self, uid: int) -> str:
        """A fresh empty folder only ``uid`` may enter; the zygote removes it after the run."""
        path = tempfile.mkdtemp(prefix=f"slot{self.slot.index}-", dir=self.slot.runs_dir)
        if "user id" not in self.missing:
            os.chown(path, uid, uid)
        return path

    def unshare_network_and_ipc(self) -> None:
        """No network at all, and System V / POSIX IPC objects that die with the child: one run's shared
        memory or message queue is never there for the next."""
        if "network and IPC namespaces" not in self.missing:
            _libc_call(_libc.unshare(_CLONE_NEWNET | _CLONE_NEWIPC), "unshare(CLONE_NEWNET | CLONE_NEWIPC)")

    def private_mounts(self, run_dir: str, uid: int, limits: Limits) -> None:
        """A mount namespace of the child's own (made private first, so nothing propagates to the host) with
        a fresh /proc that hides other users' processes (the worker, the zygote, other children: their
        command lines and CPU times), and a tmpfs over ``run_dir`` whose size and file count are the
        folder limits. Both vanish with the child's namespace."""
        if "mount namespace" in self.missing:
            return
        _libc_call(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
        for options in _PROC_OPTIONS:
            try:
                _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options)
                break
            except OSError as exc:
                if exc.errno != errno.EINVAL or options == _PROC_OPTIONS[-1]:
                    raise
        folder = (  # nr_inodes counts the folder itself too
            f"size={limits.max_folder_bytes},nr_inodes={limits.max_folder_files + 1},mode=0700,uid={uid},gid={uid}"
        )
        _mount("tmpfs", run_dir, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, folder)

    def restrict_files(self, run_dir: str | None) -> None:
        """Landlock: read-only access to the libraries and /proc, full access to ``run_dir``, nothing else.

        /proc and ``run_dir`` are opened here, in the child, after ``private_mounts``: a rule holds for the
        mount it was opened on, and the child's are its own procfs and tmpfs.
        """
        if "landlock" in self.missing:
            return
        rules = [*self.read_rules, (os.open("/proc", os.O_PATH | os.O_CLOEXEC), landlock.READ_ONLY)]
        if run_dir is not None:
            rules.append((os.open(run_dir, os.O_PATH | os.O_CLOEXEC), landlock.ALL))
        landlock.restrict_self(self.landlock_abi, rules)

    def isolate(self, run_dir: str, uid: int, keep_fds: frozenset[int]) -> None:
        """Everything that does not depend on the job, done before it arrives: every inherited fd is
        closed (database and broker sockets included), the environment emptied, the uid dropped, then
        no_new_privs and seccomp."""
        self.close_fds_except(keep_fds)
        os.chdir(run_dir)
        os.environ.clear()
        os.environ.update(
            HOME=run_dir, TMPDIR=run_dir, PATH="/usr/bin:/bin", LANG="C.UTF-8", MPLBACKEND="Agg", OMP_NUM_THREADS="1"
        )
        tempfile.tempdir = run_dir
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if "user id" not in self.missing:
            _drop_to(uid)
        _libc_call(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
        _libc_call(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        if "seccomp" not in self.missing:
            self.seccomp_filter.load()

    @staticmethod
    def apply_limits(limits: Limits, device: str) -> int | None:
        """The job's limits. An unprivileged process may lower its limits, never raise them again.

        The address-space limit counts on top of the warm state; on a GPU the CUDA driver reserves
        huge address ranges, so there the limit is left to the GPU's own memory. Returns the
        address-space limit set, in bytes (None on a GPU), against which the worker reads the kernel's
        account of the child's peak.
        """
        cpu = max(1, int(limits.cpu_seconds + 0.999))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        processes = limits.max_processes
        if device == "cuda":  # the CUDA runtime's threads count too, and it may start a few more
            processes += len(os.listdir("/proc/self/task")) - 1 + _CUDA_THREAD_ALLOWANCE
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        if device == "cuda":
            return None
        address_space = _address_space_bytes() + limits.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        return address_space

    @staticmethod
    def close_fds_except(keep: frozenset[int]) -> None:
        previous = -1
        for fd in [*sorted(keep), os.sysconf("SC_OPEN_MAX")]:
            if fd > previous + 1:  # os.closerange(n, n) would close everything (close_range(n, n - 1))
                os.closerange(previous + 1, fd)
            previous = fd

    def kill_leftovers(self, pid: int, uid: int, may_have_spawned: bool) -> None:
        """Kill what the child left behind: its process group and, where it could start processes, every
        process of its uid (a background process may have left the group with setsid).

        ``pid`` must still be an unreaped zombie, so its process group id cannot have been reused.
        """
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not may_have_spawned or "user id" in self.missing:
            return
        helper = os.fork()
        if helper == 0:
            code = 0
            try:
                _drop_to(uid)
                for _ in range(3):  # kill(-1) signals every process of this uid at once, bar the helper
                    os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except BaseException:  # noqa: BLE001 - a forked helper must never return into the zygote's loop
                code = 1
            os._exit(code)
        os.waitpid(helper, 0)


def check_host(missing: dict[str, str], allow_weak: bool | None = None) -> None:
    """Refuse to run without every mechanism unless an operator allowed the weaker mode, and say so loudly."""
    if not missing:
        return
    if allow_weak is None:
        allow_weak = os.environ.get(ALLOW_WEAK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
    details = "; ".join(f"{name}: {why}" for name, why in sorted(missing.items()))
    if not allow_weak:
        raise SandboxUnavailable(
            f"this host cannot isolate learner code ({details}). See README 'Worker host isolation'; "
            f"set {ALLOW_WEAK_ENV}=1 to run with weaker isolation anyway (never on a shared host)."
        )
    logger.warning("SANDBOX RUNNING IN WEAK MODE (%s=1): missing %s", ALLOW_WEAK_ENV, details)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, options: str | None) -> None:
    encoded = [value.encode() if value is not None else None for value in (source, target, fstype, options)]
    _libc_call(_libc.mount(encoded[0], encoded[1], encoded[2], flags, encoded[3]), f"mount {target} ({options})")


def _drop_to(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _seccomp_filter() -> object:
    import pyseccomp

    seccomp_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    seccomp_filter.set_attr(pyseccomp.Attr.CTL_TSYNC, 1)  # every thread, CUDA's included
    for name in _DENIED_SYSCALLS:
        try:
            seccomp_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        except (OSError, RuntimeError, ValueError):
            pass  # not a syscall on this architecture
    seccomp_filter.add_rule(pyseccomp.ERRNO(errno.EACCES), "socket")
    seccomp_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")  # flags unreadable; libc falls back to clone
    for flag in _NAMESPACE_FLAGS:
        new_namespace = pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag)
        seccomp_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), "clone", new_namespace)
    return seccomp_filter


def read_paths_for_python() -> list[str]:
    """Where the interpreter's own files and installed packages live (never the project folder)."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real and os.path.isdir(real) and any(real.startswith(prefix + os.sep) for prefix in prefixes):
            paths.append(real)
    return paths
