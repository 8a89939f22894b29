"""Shared set-up of the pipeline benchmarks: a scratch data folder and database, the private Redis, workers.

Run the benchmarks from the repository root with the project's Python, e.g. ``.venv/bin/python bench/pipeline_latency.py``.
DATABASE_URL is honoured (default: a SQLite file in a scratch folder).
"""

from __future__ import annotations

import atexit
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = Path(tempfile.mkdtemp(prefix="mechgrade-bench-"))


def setup_django(**env: str) -> None:
    """Configures Django on a scratch data folder and database, with the benchmark's settings overrides."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "MECHGRADE_DATA_DIR": str(SCRATCH),
            "ALLOWED_HOSTS": "testserver",
            "GRADER_MAX_PENDING": "100000",
            "GRADER_RATE_LIMIT": "100000",
            "LOG_LEVEL": "WARNING",
        }
        | env
    )
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{SCRATCH / 'bench.sqlite3'}")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def start_broker():
    """The private Redis in the scratch folder, stopped when the benchmark exits."""
    from workers.broker import PrivateRedis
    from workers.celery_app import app

    redis = PrivateRedis(SCRATCH / "redis.sock", SCRATCH / "redis")
    redis.start(stdout=open(SCRATCH / "redis.log", "w"))
    atexit.register(redis.stop)
    app.conf.broker_url = redis.url
    return redis


def start_worker(name: str, redis):
    from tests.workers.live_pipeline import Worker

    worker = Worker(name, redis.url, SCRATCH, SCRATCH, {})
    atexit.register(worker.stop)  # also when the benchmark fails half-way
    return worker.wait_ready(120)


def learner_and_exercise():
    from django.contrib.auth import get_user_model

    from tests.grader.submission_fixtures import make_exercise

    learner, _ = get_user_model().objects.get_or_create(username="bench")
    from grader.models import CodeExercise

    return learner, CodeExercise.objects.filter(slug="add").first() or make_exercise()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]
