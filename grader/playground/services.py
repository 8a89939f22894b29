"""Starting a playground run: check the code and the learner's limits, note who asked, queue it.

Runs go to the ``playground`` queue, which only ``serve_all``'s playground worker consumes, so they never
wait in front of (or run instead of) a graded submission. A learner gets the same limits as for
submissions, counted separately: ``GRADER_MAX_PENDING`` runs waiting or running at once and
``GRADER_RATE_LIMIT`` started per minute.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from grader import limits
from grader.models import CodeExercise, PlaygroundRun
from grader.submissions.services import MAX_CODE_BYTES, SubmissionRefused, check_code
from workers import playground

logger = logging.getLogger(__name__)


def start_run(*, learner: AbstractBaseUser, exercise: CodeExercise, code: str) -> str:
    """Queues a run of ``code`` for ``exercise`` and returns its id. Raises ``SubmissionRefused`` for unusable code."""
    check_code(code)
    if not code.strip():
        raise SubmissionRefused("Your code is empty. Write something in the editor, then run it.")
    size = len(code.encode())
    if size > MAX_CODE_BYTES:
        raise SubmissionRefused(
            f"Your code is {size / 1024:.1f} KiB; runs are limited to {MAX_CODE_BYTES // 1024} KiB.", status=413
        )
    run_id = uuid.uuid4().hex
    with transaction.atomic():
        # One learner's starts are serialised, so the limits cannot be raced past by parallel requests.
        get_user_model().objects.select_for_update().only("pk").get(pk=learner.pk)
        _check_limits(learner)
        PlaygroundRun.objects.create(id=run_id, learner=learner, exercise=exercise)
    run_limits = {"wall_seconds": exercise.wall_seconds, "cpu_seconds": exercise.cpu_seconds,
                  "memory_bytes": exercise.memory_mb * 1024 * 1024, "max_output_bytes": exercise.max_output_kb * 1024}
    model = playground.playground_model(exercise.kind)
    try:
        playground.save_run(run_id, {"learner": learner.pk, "status": "queued"})
        playground.run_playground.apply_async((run_id, learner.pk, code, model, run_limits), queue=playground.QUEUE)
    except Exception:  # Redis full (maxmemory, noeviction) or unreachable: the run was not queued
        logger.exception("playground run %s could not be queued", run_id)
        finished(run_id)
        raise SubmissionRefused("Your run could not be queued: the playground is busy right now. "
                                "Please run again in a minute.", status=503) from None
    return run_id


def _check_limits(learner: AbstractBaseUser) -> None:
    now = timezone.now()
    mine = PlaygroundRun.objects.filter(learner=learner)
    pending = mine.filter(finished_at=None, created_at__gte=now - timedelta(seconds=settings.PLAYGROUND_PENDING_TIMEOUT))
    try:
        limits.check_pending(pending.count(), settings.GRADER_MAX_PENDING, limits.RUNS)
        recent = mine.filter(created_at__gte=now - limits.WINDOW).values_list("created_at", flat=True)
        limits.check_rate(list(recent), settings.GRADER_RATE_LIMIT, limits.RUNS, now=now)
    except limits.LimitReached as reached:
        raise SubmissionRefused(str(reached), status=reached.status) from None


def finished(run_id: str) -> None:
    """The worker is done with the run: it no longer counts as pending."""
    PlaygroundRun.objects.filter(pk=run_id, finished_at=None).update(finished_at=timezone.now())


def run_of(learner: AbstractBaseUser, run_id: str) -> dict | None:
    """The run's state and output, if it exists and belongs to ``learner``."""
    data = playground.load_run(run_id)
    if data is None or data.get("learner") != learner.pk:
        return None
    return {key: value for key, value in data.items() if key != "learner"}
