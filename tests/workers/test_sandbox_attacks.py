"""Hostile submissions: each is contained with a clear verdict, and the next submission runs normally.

Every test ends with ``assert_healthy``: the same warm sandbox must still grade a correct submission.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import socket
import time
from pathlib import Path

import pytest
import torch
from django.conf import settings

from tests.workers.test_sandbox_run import call_main, sandbox  # noqa: F401 - the fixture
from workers.sandbox import Limits, Sandbox
from workers.sandbox.isolation import sandbox_dir


def matmul_with_model(learner: dict, inputs: dict, models: dict) -> dict:
    """Trusted code the grader relies on: torch and the preloaded weights must be untouched by earlier runs."""
    learner["main"](inputs, models)
    return {"value": (torch.ones(4) @ models["weights"]).tolist()}


QUICK = Limits(wall_seconds=3, cpu_seconds=2, memory_bytes=512 * 1024**2)


def assert_healthy(sandbox: Sandbox) -> None:
    result = sandbox.run("def main(inputs, models):\n    return 41 + 1\n", call_main, {}, QUICK)
    assert (result.status, result.outputs) == ("ok", {"value": 42}), result.message


def run(sandbox: Sandbox, body: str, inputs: dict | None = None, limits: Limits = QUICK):
    code = "import ctypes, os, signal, socket, sys, time, torch\n\ndef main(inputs, models):\n" + "".join(
        f"    {line}\n" for line in body.strip("\n").split("\n")
    )
    return sandbox.run(code, call_main, inputs or {}, limits)


def test_infinite_loop_hits_the_wall_time_limit(sandbox):
    result = run(sandbox, "while True:\n    time.sleep(0.01)", limits=Limits(wall_seconds=1))

    assert (result.status, result.message) == ("time_limit", "time limit of 1 s exceeded")
    assert 1000 <= result.resources["wall_ms"] < 3000
    assert_healthy(sandbox)


def test_busy_loop_hits_the_cpu_time_limit(sandbox):
    result = run(sandbox, "while True:\n    pass", limits=Limits(wall_seconds=10, cpu_seconds=1))

    assert (result.status, result.message) == ("time_limit", "CPU time limit of 1 s exceeded")
    assert_healthy(sandbox)


def test_fork_bomb_cannot_start_a_single_process(sandbox):
    result = run(sandbox, "while True:\n    os.fork()")

    assert result.status == "exception"
    assert "BlockingIOError: [Errno 11] Resource temporarily unavailable" in result.message
    assert result.message.endswith("Note: code here cannot start processes or threads.")
    assert result.line == 5
    assert_healthy(sandbox)


def test_threads_are_processes_too(sandbox):
    result = run(sandbox, "import threading\nthreading.Thread(target=print).start()")

    assert result.status == "exception" and "can't start new thread" in result.message
    assert_healthy(sandbox)


def test_filling_memory_up_to_the_limit_is_the_memory_limit(sandbox):
    limits = Limits(wall_seconds=5, memory_bytes=128 * 1024**2)
    result = run(sandbox, "x = [bytearray(2**24) for _ in range(6400)]", limits=limits)

    assert (result.status, result.message) == ("memory_limit", "memory limit of 128 MiB exceeded (line 4)")
    assert_healthy(sandbox)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("x = bytearray(100 * 2**30)", "MemoryError"),
        ("x = torch.empty(25 * 2**30)", "RuntimeError"),
        ("x = bytearray(200 * 2**20)\nraise MemoryError", "MemoryError"),
    ],
)
def test_a_memory_error_far_below_the_limit_is_an_exception_that_gives_the_kernels_figures(sandbox, body, name):
    """One refused allocation larger than what is left and a bare ``raise MemoryError`` leave the same trace
    in the kernel's account (none): the message says what was in use and that it cannot tell which."""
    result = run(sandbox, body, limits=Limits(wall_seconds=5, memory_bytes=1024**3))

    said = re.match(rf"{name} was raised \(line [45]\) while your code used ([\d,]+) MiB", result.message)
    assert result.status == "exception" and said, result.message
    assert int(said[1].replace(",", "")) < 300
    assert "of its 1 GiB memory limit" in result.message and "the sandbox cannot tell which" in result.message
    assert "Traceback" in result.message
    assert_healthy(sandbox)


def test_writing_a_10_gb_file_hits_the_file_size_limit(sandbox):
    result = run(sandbox, "with open('big', 'wb') as f:\n    for _ in range(10 * 1024):\n        f.write(bytes(2**20))")

    assert (result.status, result.message) == ("output_limit", "file size limit of 16 MiB exceeded (line 6)")
    assert_healthy(sandbox)


def test_printing_without_end_hits_the_output_limit_and_keeps_the_start(sandbox):
    result = run(sandbox, "while True:\n    print('spam')", limits=Limits(max_output_bytes=1024))

    assert result.status == "output_limit"
    assert result.message == "output limit of 1 KiB exceeded; the output shown is truncated"
    assert result.stdout.startswith("spam\nspam\n")
    assert result.stdout.endswith("\n[output truncated: the limit is 1 KiB]")
    assert_healthy(sandbox)


@pytest.mark.parametrize("port", [6379, 5432])
def test_no_tcp_connection_to_redis_or_postgres(sandbox, port):
    result = run(sandbox, f"socket.create_connection(('127.0.0.1', {port}), timeout=2)")

    assert result.status == "exception" and "PermissionError" in result.message
    assert result.message.endswith("Note: code here has no network access.")
    assert_healthy(sandbox)


def test_no_unix_socket_to_the_private_broker(sandbox):
    broker = str(settings.DATA_DIR / "redis.sock")
    result = run(sandbox, "s = socket.socket(socket.AF_UNIX)\ns.connect(inputs['path'])", {"path": broker})

    assert result.status == "exception" and "PermissionError" in result.message
    assert_healthy(sandbox)


def _secret_paths() -> dict[str, Path]:
    return {
        "settings": Path(settings.BASE_DIR) / "config" / "settings.py",
        "secret key": settings.DATA_DIR / "secret_key",
        "world-readable data file": settings.DATA_DIR / "sandbox-test.sqlite3",  # as the SQLite database is
        "init's environment": Path("/proc/1/environ"),
        "worker's environment": Path(f"/proc/{os.getpid()}/environ"),
    }


@pytest.fixture
def world_readable_data_file():
    path = _secret_paths()["world-readable data file"]
    path.write_text("password hashes")
    path.chmod(0o644)  # only Landlock keeps the sandbox uid from reading it
    yield path
    path.unlink()


# Django settings are read in the tests, not at import: the zygote imports this module for its entries.
@pytest.mark.parametrize(
    "name", ["settings", "secret key", "world-readable data file", "init's environment", "worker's environment"]
)
def test_project_files_secrets_and_other_processes_environment_are_unreadable(sandbox, world_readable_data_file, name):
    path = _secret_paths()[name]
    assert path.exists()
    result = run(sandbox, "return open(inputs['path'], 'rb').read(100)", {"path": str(path)})

    assert result.status == "exception"
    if name.endswith("environment"):  # other users' processes are not even there in the child's /proc
        assert "FileNotFoundError: [Errno 2] No such file or directory" in result.message
    else:
        assert "PermissionError: [Errno 13] Permission denied" in result.message
        assert result.message.endswith("Note: code here can only use files in its own working folder.")
    assert_healthy(sandbox)


def test_the_environment_is_empty_of_secrets(sandbox):
    result = run(sandbox, "return dict(os.environ)")

    assert result.status == "ok"
    assert set(result.outputs["value"]) <= {"HOME", "TMPDIR", "PATH", "LANG", "MPLBACKEND", "OMP_NUM_THREADS"}


def test_another_submissions_folder_is_unreadable(sandbox):
    other_uid = max(sandbox.uids) + 1  # the next slot's: another worker's submission
    with pytest.raises(KeyError):
        pwd.getpwuid(other_uid)
    other = sandbox_dir() / "runs" / f"run-other-{os.getpid()}"
    other.mkdir(mode=0o700)
    try:
        (other / "solution.py").write_text("secret answer")
        os.chown(other / "solution.py", other_uid, other_uid)
        os.chown(other, other_uid, other_uid)
        listing = run(sandbox, "return os.listdir(inputs['runs'])", {"runs": str(other.parent)})
        reading = run(sandbox, "return open(inputs['path']).read()", {"path": str(other / "solution.py")})
    finally:
        (other / "solution.py").unlink()
        other.rmdir()

    assert listing.status == "exception" and "PermissionError" in listing.message
    assert reading.status == "exception" and "PermissionError" in reading.message
    assert_healthy(sandbox)


def test_no_inherited_socket_or_other_descriptor_is_found_by_scanning(sandbox):
    body = (
        "links = {}\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        links[fd] = os.readlink(f'/proc/self/fd/{fd}')\n"
        "    except FileNotFoundError:\n"
        "        pass  # the listing's own descriptor, closed by now\n"
        "return links"
    )
    result = run(sandbox, body)

    assert result.status == "ok", result.message
    descriptors = result.outputs["value"]
    assert not [target for target in descriptors.values() if target.startswith("socket:")]
    assert set(descriptors) == {"0", "1", "2", "3"}  # stdin (/dev/null), stdout, stderr, the result pipe


@pytest.mark.parametrize("target", ["os.getppid()", "inputs['worker']", "1"])
def test_signals_to_the_zygote_the_worker_or_init_are_refused(sandbox, target):
    result = run(sandbox, f"os.kill({target}, signal.SIGKILL)", {"worker": os.getpid()})

    assert result.status == "exception" and "PermissionError" in result.message
    assert_healthy(sandbox)


def test_printing_a_forged_result_is_only_output(sandbox):
    result = run(sandbox, "print('MGS1{\"status\": \"ok\", \"outputs\": {\"value\": 100}}')\nreturn 1")

    assert (result.status, result.outputs) == ("ok", {"value": 1})
    assert "MGS1" in result.stdout


def test_writing_to_the_result_descriptor_makes_the_result_invalid(sandbox):
    result = run(sandbox, "os.write(3, b'MGS1 full marks please')\nreturn 1")

    assert result.status == "invalid_result" and result.outputs is None
    assert_healthy(sandbox)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return 'x' * (32 * 2**20)", "the result is larger than the limit of"),
        ("return [0] * 10**7", "the result is larger than the limit of"),
        ("x = []\nx.append(x)\nreturn x", "the result is nested more than 32 levels deep"),
    ],
)
def test_giant_or_recursive_results_are_invalid(sandbox, body, message):
    result = run(sandbox, body, limits=Limits(memory_bytes=2 * 1024**3))

    assert result.status == "invalid_result" and message in result.message
    assert_healthy(sandbox)


def test_sys_exit_is_an_exception_with_its_line(sandbox):
    result = run(sandbox, "sys.exit(3)")

    assert (result.status, result.line) == ("exception", 4)
    assert result.message.endswith("SystemExit: 3")
    assert_healthy(sandbox)


def test_os_exit_ends_without_a_result(sandbox):
    result = run(sandbox, "os._exit(3)")

    assert result.status == "invalid_result"
    assert "exit code 3" in result.message
    assert_healthy(sandbox)


def test_segfault_is_reported_as_the_signal(sandbox):
    result = run(sandbox, "ctypes.string_at(0)")

    assert (result.status, result.message) == ("killed", "killed by signal SIGSEGV")
    assert_healthy(sandbox)


def test_monkeypatching_torch_or_the_model_does_not_reach_the_next_run_or_the_worker(sandbox):
    patched = sandbox.run(
        "import torch\ndef main(inputs, models):\n    torch.matmul = None\n    models['weights'].zero_()\n",
        matmul_with_model,
        {},
        QUICK,
    )
    clean = sandbox.run("def main(inputs, models):\n    pass\n", matmul_with_model, {}, QUICK)

    assert patched.status == "ok" and patched.outputs == {"value": [0.0, 0.0, 0.0, 0.0]}
    assert clean.outputs == {"value": [4.0, 4.0, 4.0, 4.0]}
    assert torch.matmul is not None


def test_a_background_process_that_outlives_the_child_is_killed(sandbox):
    body = (
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "return pid"
    )
    result = run(sandbox, body, limits=Limits(max_processes=4))

    assert result.status == "ok", result.message
    background = result.outputs["value"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(background, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(background, signal.SIGKILL)
        pytest.fail(f"background process {background} survived its run")
    assert_healthy(sandbox)


def _anonymous_memory_contains(pid: int, needle: bytes) -> bool:
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as memory:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("r") or (len(fields) > 5 and not fields[5].startswith("[heap")):
                continue  # file mappings and [vvar]/[stack] cannot hold a message the zygote received
            start, end = (int(part, 16) for part in fields[0].split("-"))
            memory.seek(start)
            try:
                if needle in memory.read(end - start):
                    return True
            except OSError:
                continue
    return False


def test_a_later_child_cannot_find_an_earlier_submission_in_the_memory_it_starts_from(sandbox):
    secret = f"answer-of-{os.getpid()}-{time.monotonic_ns()}"
    result = run(sandbox, f"return {secret!r}", {"notes": secret * 200})  # ~8 KB: freed, not unmapped
    assert result.outputs == {"value": secret}

    assert not _anonymous_memory_contains(sandbox.pid, secret.encode())
