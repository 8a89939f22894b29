"""What a hostile learner tries against the edges of a run: the verdict, the kernel's account, what outlives
the child, what it can see of others, how much it can write, and what a quiet run lets out.

Every test that attacks ends with ``assert_healthy``: the same warm sandbox still grades a correct submission.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import tempfile
import time

import pytest

from tests.workers.test_sandbox_attacks import QUICK, assert_healthy, run
from tests.workers.test_sandbox_run import call_main, eventually, sandbox  # noqa: F401 - the fixture
from workers.sandbox import Limits, Sandbox, SandboxError

# --- the exit status is the learner's; the sandbox's own failure is told on a separate channel ---


@pytest.mark.parametrize("code", [121, 1, 0])
def test_any_exit_status_of_a_child_that_ran_learner_code_is_the_learners(sandbox, code):
    result = run(sandbox, f"os._exit({code})")

    assert result.status == "invalid_result"
    assert f"your code ended the process (exit code {code})" in result.message
    assert_healthy(sandbox)


def preload_that_breaks_confinement() -> dict:
    """Trusted set-up gone wrong: every spare fails to confine itself (Landlock refuses its run folder),
    while the start-up probe, which passes no run folder, succeeds."""
    from workers.sandbox.isolation import Confinement

    original = Confinement.restrict_files

    def refuse_run_folders(self: Confinement, run_dir: str | None) -> None:
        if run_dir is not None:
            raise OSError(errno.EPERM, "Landlock refused the run folder (injected by the test)")
        original(self, run_dir)

    Confinement.restrict_files = refuse_run_folders
    return {}


def test_a_spare_that_could_not_confine_itself_is_our_error_and_never_runs_the_code():
    with Sandbox(preload=preload_that_breaks_confinement) as broken:
        with pytest.raises(SandboxError, match="could not confine itself(.|\n)*injected by the test"):
            broken.run("import os\nos._exit(0)\n", call_main, {}, QUICK)


# --- killed the moment the result is complete; resources from the kernel ---


@pytest.mark.parametrize(
    "patch",
    [
        "os._exit = lambda code: time.sleep(55)",
        "signal.pause = lambda: time.sleep(55)",
        "os.close = os.closerange = lambda *fds: None\nsignal.pause = lambda: time.sleep(55)",
        "import atexit\natexit.register(time.sleep, 55)\nos._exit = lambda code: sys.exit(code)",
        "class Linger:\n    def __del__(self):\n        time.sleep(55)\nLINGER = Linger()\n"
        "sys.modules['os']._exit = sys.exit",
    ],
)
def test_nothing_the_learner_arranges_keeps_the_child_running_after_its_result(sandbox, patch):
    code = f"import os, signal, sys, time\n{patch}\ndef main(inputs, models):\n    return os.getpid()\n"
    called = time.monotonic()
    result = sandbox.run(code, call_main, {}, Limits(wall_seconds=30))
    returned = time.monotonic()

    assert result.status == "ok", result.message
    assert returned - called < 5
    assert eventually(lambda: not _alive(result.outputs["value"]), seconds=1.0)
    assert_healthy(sandbox)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cpu_time_is_the_kernels_figure_whatever_the_child_says(sandbox):
    code = (
        "import resource, time\n"
        "class Idle:\n"
        "    ru_utime = ru_stime = 0.0\n"
        "    ru_maxrss = 1\n"
        "resource.getrusage = lambda who: Idle()\n"
        "def main(inputs, models):\n"
        "    end = time.process_time() + 0.5\n"
        "    while time.process_time() < end:\n"
        "        pass\n"
    )
    result = sandbox.run(code, call_main, {}, Limits())

    assert result.status == "ok", result.message
    assert result.resources["cpu_ms"] >= 400
    assert result.resources["max_rss_kb"] > 10_000


# --- no IPC object outlives its run, no IPC at all ---

_IPC_CREATE = 0o1000 | 0o666  # IPC_CREAT, readable and writable by all


def test_system_v_and_posix_ipc_cannot_be_created_or_found_by_the_next_run(sandbox):
    key = 0x6D670000 + os.getpid() % 0xFFFF
    make = (
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "calls = {\n"
        "    'shm': lambda: libc.shmget(inputs['key'], 4096, inputs['flags']),\n"
        "    'msg': lambda: libc.msgget(inputs['key'], inputs['flags']),\n"
        "    'sem': lambda: libc.semget(inputs['key'], 1, inputs['flags']),\n"
        "    'mq': lambda: libc.mq_open(b'/mechgrade-marker', os.O_CREAT | os.O_RDWR if inputs['flags'] else os.O_RDWR,"
        " 0o666, None),\n"
        "}\n"
        "return {name: [call(), ctypes.get_errno()] for name, call in calls.items()}"
    )
    first = run(sandbox, make, {"key": key, "flags": _IPC_CREATE})
    second = run(sandbox, make, {"key": key, "flags": 0})

    assert first.status == second.status == "ok", (first.message, second.message)
    assert first.outputs["value"] == {name: [-1, errno.EPERM] for name in ("shm", "msg", "sem", "mq")}
    assert all(returned == -1 for returned, _ in second.outputs["value"].values())
    for table in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{table}") as listing:
            assert str(key) not in listing.read()
    assert_healthy(sandbox)


def test_a_child_has_ipc_mount_and_network_namespaces_of_its_own(sandbox):
    """Not the host's (the worker's and the zygote's). Two children's cannot be compared: the kernel
    reuses a dead namespace's number."""
    result = run(sandbox, "return {kind: os.readlink(f'/proc/self/ns/{kind}') for kind in ('ipc', 'mnt', 'net')}")

    assert result.status == "ok", result.message
    for kind in ("ipc", "mnt", "net"):
        host = {os.readlink(f"/proc/self/ns/{kind}"), os.readlink(f"/proc/{sandbox.pid}/ns/{kind}")}
        assert result.outputs["value"][kind] not in host, kind


# --- no view of other users' processes ---


@pytest.fixture
def other_users_process():
    process = subprocess.Popen(["sleep", "30"], user=65534, group=65534)
    yield process.pid
    process.kill()
    process.wait()


def test_proc_lists_only_the_childs_own_process(sandbox, other_users_process):
    result = run(sandbox, "return [sorted(name for name in os.listdir('/proc') if name.isdigit()), os.getpid()]")

    assert result.status == "ok", result.message
    listed, own = result.outputs["value"]
    assert listed == [str(own)]


@pytest.mark.parametrize("whose", ["zygote", "worker", "another user", "init"])
def test_another_processs_command_line_and_cpu_time_cannot_be_read(sandbox, other_users_process, whose):
    pid = {"zygote": sandbox.pid, "worker": os.getpid(), "another user": other_users_process, "init": 1}[whose]
    body = (
        "found = {}\n"
        "for part in ('cmdline', 'stat', 'status'):\n"
        "    try:\n"
        "        found[part] = open(f\"/proc/{inputs['pid']}/{part}\", 'rb').read().decode('latin1')\n"
        "    except OSError as exc:\n"
        "        found[part] = type(exc).__name__\n"
        "return found"
    )
    result = run(sandbox, body, {"pid": pid})

    assert result.status == "ok", result.message
    assert result.outputs["value"] == {part: "FileNotFoundError" for part in ("cmdline", "stat", "status")}
    assert_healthy(sandbox)


# --- the run folder's total is capped ---

FOLDER_FULL = "your code filled its working folder: the limit is 64 MiB and 2000 files"


@pytest.mark.parametrize(
    "body",
    [
        "for i in range(128):\n    with open(f'part{i}', 'wb') as f:\n        for _ in range(8):\n"
        "            f.write(bytes(2**20))",
        "for i in range(20_000):\n    open(f'file{i}', 'w').close()",
    ],
    ids=["1 GiB", "20,000 files"],
)
def test_filling_the_run_folder_is_stopped_quickly_with_the_folder_limit(sandbox, body):
    result = run(sandbox, body, limits=Limits(wall_seconds=10))

    assert result.status == "output_limit"
    assert result.message.startswith(FOLDER_FULL), result.message
    assert result.resources["wall_ms"] < 5000
    fresh = run(sandbox, "return os.listdir('.')")
    assert (fresh.status, fresh.outputs) == ("ok", {"value": []})
    assert_healthy(sandbox)


def test_a_run_with_other_folder_limits_gets_a_folder_of_that_size(sandbox):
    body = "with open('big', 'wb') as f:\n    f.write(bytes(2 * 2**20))"
    result = run(sandbox, body, limits=Limits(max_folder_bytes=2**20, max_folder_files=10))

    assert result.status == "output_limit"
    assert result.message.startswith("your code filled its working folder: the limit is 1 MiB and 10 files")
    assert_healthy(sandbox)


# --- forged result frames are the learner's invalid result ---


def _npy(descr: str, shape: str, data: bytes = b"") -> str:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data).decode("latin1")


_ARRAY = json.dumps({"status": "ok", "outputs": {"value": {"$array": 0}}})
FORGED = {
    "a petabyte shape": (_ARRAY, [_npy("<f8", "(1000000000, 1000000000)")]),
    "a length mismatch": (_ARRAY, [_npy("<f8", "(4,)", bytes(8))]),
    "an object array": (_ARRAY, [_npy("|O", "(1,)", bytes(8))]),
    "a big-endian array": (_ARRAY, [_npy(">f8", "(2,)", bytes(16))]),
    "600-deep JSON": ('{"status": "ok", "outputs": {"value": ' + "[" * 600 + "]" * 600 + "}}", []),
    "100,000-deep JSON": ("[" * 100_000 + "]" * 100_000, []),
    "an int of 5000 digits": ('{"status": "ok", "outputs": {"value": ' + "7" * 5000 + "}}", []),
    "an unknown status": ('{"status": "graded", "outputs": {"value": 10}}', []),
}
WRITE_FRAME = (
    "import struct\n"
    "header = inputs['header'].encode()\n"
    "frame = b'MGS1' + struct.pack('<I', len(header)) + header\n"
    "for blob in inputs['arrays']:\n"
    "    frame += struct.pack('<Q', len(blob)) + blob.encode('latin1')\n"
    "os.write(3, struct.pack('<Q', len(frame)) + frame)\n"
)


@pytest.mark.parametrize("ending", ["os._exit(0)", "return 1"])
@pytest.mark.parametrize("forged", FORGED)
def test_a_forged_result_frame_is_the_learners_invalid_result(sandbox, forged, ending):
    header, arrays = FORGED[forged]
    result = run(sandbox, WRITE_FRAME + ending, {"header": header, "arrays": arrays})

    assert result.status == "invalid_result" and result.outputs is None
    assert result.message.startswith("the result channel carried"), result.message
    assert_healthy(sandbox)


def test_a_returned_object_that_raises_while_it_is_sent_is_an_invalid_result_not_a_hang(sandbox):
    body = (
        "class Booby(torch.Tensor):\n"
        "    def detach(self):\n"
        "        raise ValueError('caught you')\n"
        "return torch.ones(2).as_subclass(Booby)"
    )
    result = run(sandbox, body)

    assert (result.status, result.message) == ("invalid_result", "the result could not be sent (ValueError)")
    assert result.resources["wall_ms"] < 2000
    assert_healthy(sandbox)


def test_a_big_endian_array_returned_by_honest_code_arrives_in_native_order(sandbox):
    result = run(sandbox, "import numpy as np\nreturn np.arange(3, dtype='>f8')")

    assert result.status == "ok", result.message
    value = result.outputs["value"]
    assert value.dtype.isnative and value.tolist() == [0.0, 1.0, 2.0]


# --- a quiet run lets out nothing but the entry's outputs ---

NOISE = (
    "import os, sys\n"
    "print('SECRET at import')\n"
    "class SECRETLEAK(Exception):\n"
    "    pass\n"
    "def main(inputs, models):\n"
    "    print('SECRET' * 100)\n"
    "    sys.stderr.write('SECRET')\n"
    "    for fd in range(256):\n"
    "        if fd != 3 or inputs['corrupt']:\n"
    "            try:\n"
    "                os.write(fd, b'SECRET')\n"
    "            except OSError:\n"
    "                pass\n"
    "    for stream in (sys.__stdout__, sys.__stderr__):\n"
    "        try:\n"
    "            stream.write('SECRET')\n"
    "            stream.flush()\n"
    "        except (OSError, ValueError):\n"
    "            pass\n"
    "    for fd in (0, 1, 2):\n"
    "        try:\n"
    "            os.write(os.dup(fd), b'SECRET')\n"
    "        except OSError:\n"
    "            pass\n"
)


@pytest.mark.parametrize(
    ("ending", "corrupt", "status", "message"),
    [
        ("return [fd for fd in (0, 1, 2) if os.path.exists(f'/proc/self/fd/{fd}')]", False, "ok", ""),
        ("raise ValueError('SECRET' * 1000)", False, "exception", "ValueError"),
        ("raise SECRETLEAK('SECRET')", False, "exception", "an exception"),
        ("os._exit(77)", False, "invalid_result", "the result could not be used"),
        ("os.kill(os.getpid(), 11)", False, "killed", "the process was killed by a signal"),
        ("return 1", True, "invalid_result", "the result could not be used"),
    ],
)
def test_a_quiet_run_carries_nothing_the_child_wrote(sandbox, ending, corrupt, status, message):
    result = sandbox.run(f"{NOISE}    {ending}\n", call_main, {"corrupt": corrupt}, QUICK, quiet=True)

    assert (result.status, result.message, result.line) == (status, message, None)
    assert result.stdout == result.stderr == ""
    assert "SECRET" not in repr(result) and "77" not in result.message
    if status == "ok":
        assert result.outputs == {"value": []}  # 0, 1 and 2 are closed, not redirected
    assert_healthy(sandbox)


def test_a_quiet_syntax_error_shows_no_source(sandbox):
    result = sandbox.run("SECRET = (\n", call_main, {}, QUICK, quiet=True)

    assert (result.status, result.message, result.line) == ("syntax_error", "SyntaxError", None)


# --- settings reach the zygote ---


@pytest.fixture
def sandbox_folder():
    folder = tempfile.mkdtemp(prefix="mechgrade-settings-")
    os.chmod(folder, 0o755)  # children traverse it to their run folders
    yield folder
    subprocess.run(["rm", "-rf", folder], check=True)


def test_the_operators_sandbox_settings_reach_the_zygote(monkeypatch, sandbox_folder):
    monkeypatch.setenv("MECHGRADE_SANDBOX_DIR", sandbox_folder)
    monkeypatch.setenv("MECHGRADE_SANDBOX_UID_BASE", "700000")
    with Sandbox() as moved:
        result = moved.run("import os\ndef main(inputs, models):\n    return [os.getuid(), os.getcwd()]\n",
                           call_main, {}, QUICK)

    assert result.status == "ok", result.message
    uid, folder = result.outputs["value"]
    assert uid >= 700000 and min(moved.uids) >= 700000
    assert folder.startswith(os.path.join(sandbox_folder, "runs") + os.sep)
