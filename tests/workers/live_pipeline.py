"""A real broker and real Celery workers for the pipeline tests: a private redis-server the tests can kill
and restart, and worker subprocesses sharing the test database. Test modules import the fixtures.

The worker processes must see what the test commits, so on SQLite the test database is a file (an
in-memory database cannot be shared between processes). This module switches it on import, before
pytest-django creates the test database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from grader.models import Submission
from workers.broker import PrivateRedis
from workers.celery_app import app

_database = settings.DATABASES["default"]
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database.setdefault("TEST", {})["NAME"] = os.path.join(tempfile.gettempdir(), f"mechgrade-test-{os.getpid()}.sqlite3")

BASE_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the test database this process uses, for the worker subprocesses."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One `celery worker` subprocess (prefork, one pool process) consuming both queues."""

    def __init__(self, name: str, broker_url: str, data_dir: Path, log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "cpu,gpu", "-c", "1",
             "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=BASE_DIR,
            env=os.environ | env | {"DATABASE_URL": database_url(), "REDIS_URL": broker_url,
                                    "MECHGRADE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"},
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 60.0) -> Worker:
        wait_for(lambda: " ready." in self.log(), timeout, f"worker {self.name} to start", self)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole worker: the main process, its pool process and any sandbox child."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition: Callable[[], object], timeout: float, what: str, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker {worker.name} exited while waiting for {what}:\n{worker.log()[-4000:]}")
        if time.monotonic() > deadline:
            log = f"; worker {worker.name}'s log ends:\n{worker.log()[-4000:]}" if worker is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{log}")
        time.sleep(0.05)


def wait_all_final(submissions: list[Submission], timeout: float, worker: Worker | None = None) -> None:
    ids = [s.pk for s in submissions]

    def all_final() -> bool:
        return Submission.objects.filter(pk__in=ids, state__in=Submission.FINAL_STATES).count() == len(ids)

    wait_for(all_final, timeout, f"{len(ids)} submissions to be graded", worker)


_broker: PrivateRedis | None = None


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Iterator[PrivateRedis]:
    """A private redis-server on a unix socket; the Celery app in this process sends to it.

    One server for the session even though each test module imports this fixture (and so holds its own
    copy): this process's Celery connection pool is bound to the first broker URL it used.
    """
    global _broker
    if _broker is None:
        directory = tmp_path_factory.mktemp("redis")
        _broker = PrivateRedis(directory / "redis.sock", directory)
        _broker.start(stdout=subprocess.DEVNULL)
        app.conf.broker_url = _broker.url  # before this process first sends, so its connection pool uses it
    yield _broker
    _broker.stop()


@pytest.fixture(scope="module")
def shared_worker(broker, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """One worker for the tests of a module that do not kill it (starting one takes seconds)."""
    directory = tmp_path_factory.mktemp("worker")
    worker = Worker("shared", broker.url, directory, directory, {})
    yield worker.wait_ready()
    worker.stop()


@pytest.fixture
def start_worker(broker, transactional_db, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Starts worker subprocesses against the test database and the private broker; stops them after the test."""
    workers: list[Worker] = []

    def start(name: str = "w1", **env: str) -> Worker:
        worker = Worker(name, broker.url, tmp_path, tmp_path, {key: str(value) for key, value in env.items()})
        workers.append(worker)
        return worker.wait_ready()

    broker.client().flushall()
    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def unlimited(settings):
    settings.GRADER_MAX_PENDING = 1000
    settings.GRADER_RATE_LIMIT = 1000


def assert_graded_exactly_once(submissions: list[Submission], score: float = 10.0) -> None:
    for submission in submissions:
        submission.refresh_from_db()
        assert submission.state == Submission.State.GRADED, (submission.state, submission.feedback)
        assert submission.score == score
        assert submission.events.filter(to_state=Submission.State.GRADED).count() == 1
