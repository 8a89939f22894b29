"""The Celery app. Its settings are the CELERY_* values in config/settings.py (broker = REDIS_URL).

Delivery is at-least-once (late acks, reject on worker lost, prefetch 1); grading is idempotent in
``grader.submissions.services``, so a redelivered task never grades twice. Graded submissions
go to ``cpu`` or ``gpu`` (exercises with ``needs_gpu``); playground runs go to ``playground``, which
``manage.py serve_all`` gives a worker of its own, so a run never waits in front of, or takes the worker
of, a submission. Which queues a worker consumes is chosen when it is started. Each worker process warms one sandbox when it starts.

Start a worker by hand:  celery -A workers.celery_app worker -Q cpu,gpu -c 1
                   celery -A workers.celery_app worker -Q playground -c 1
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mechgrade", include=["workers.tasks", "workers.playground"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[Queue(name, Exchange(name), routing_key=name) for name in ("cpu", "gpu", "playground")],
    task_default_queue="cpu",
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # A new pool process starts its sandbox (torch, TransformerLens, reference models) before it reports up.
    worker_proc_alive_timeout=180,
)


@worker_process_init.connect
def _warm_worker_process(**_: object) -> None:
    """Loads the reference models and starts the sandbox's warm parent before the first task arrives."""
    from workers.grading import warm_worker

    warm_worker()
