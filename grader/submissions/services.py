"""Writes on submissions: submit, start, record, requeue and sweep. Every change of state is an event.

The rules that keep the pipeline from losing or double-grading anything:

- the row is committed before any message about it exists: ``submit`` queues on commit, with only the id;
- a worker may start a submission only while it is queued or running (a redelivery after a crash),
  and its result is written only from ``running``, under a row lock, so a second delivery of the same
  task finds a final state and writes nothing;
- the sweeper resends what no worker picked up, requeues what a dead worker left running, and after
  ``GRADER_MAX_DELIVERIES`` gives up with state ``error`` and a message an operator can act on.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from grader import limits
from grader.models import CodeExercise, Submission, SubmissionEvent
from grader.text_input import TextRefused, check_text
from workers.grading import GradingOutcome, Verdict, grade_exercise
from workers.tasks import grade_submission

logger = logging.getLogger(__name__)

MAX_CODE_BYTES = 64 * 1024
State = Submission.State


class SubmissionRefused(Exception):
    """Why a learner cannot submit right now. The message is shown to them as is."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def submit(*, learner: AbstractBaseUser, exercise: CodeExercise, code: str) -> Submission:
    """Creates a queued submission and sends it to the exercise's queue once the row is committed."""
    check_code(code)
    size = len(code.encode())
    if not code.strip():
        raise SubmissionRefused("Your code is empty. Write your solution in the editor, then submit.")
    if size > MAX_CODE_BYTES:
        raise SubmissionRefused(
            f"Your code is {size / 1024:.1f} KiB; submissions are limited to {MAX_CODE_BYTES // 1024} KiB.", status=413
        )
    with transaction.atomic():
        # One learner's submits are serialised, so the limits below cannot be raced past.
        get_user_model().objects.select_for_update().only("pk").get(pk=learner.pk)
        _check_limits(learner)
        last_attempt = Submission.objects.filter(learner=learner, exercise=exercise).aggregate(n=Max("attempt"))["n"]
        now = timezone.now()
        submission = Submission.objects.create(
            learner=learner, exercise=exercise, code=code, attempt=(last_attempt or 0) + 1, queued_at=now
        )
        SubmissionEvent.objects.create(submission=submission, to_state=State.QUEUED, detail="submitted")
        _send_on_commit(submission)
    return submission


def check_code(code: str) -> None:
    """Refuses code that is not valid Unicode text (a lone surrogate cannot be stored or run)."""
    try:
        check_text(code, what="Your code")
    except TextRefused as refused:
        raise SubmissionRefused(str(refused)) from None


def _check_limits(learner: AbstractBaseUser) -> None:
    pending = Submission.objects.filter(learner=learner, state__in=[State.QUEUED, State.RUNNING]).count()
    recent = Submission.objects.filter(learner=learner, created_at__gte=timezone.now() - limits.WINDOW)
    try:
        limits.check_pending(pending, settings.GRADER_MAX_PENDING, limits.SUBMISSIONS)
        limits.check_rate(list(recent.values_list("created_at", flat=True)), settings.GRADER_RATE_LIMIT, limits.SUBMISSIONS)
    except limits.LimitReached as reached:
        raise SubmissionRefused(str(reached), status=reached.status) from None


def _send_on_commit(submission: Submission) -> None:
    submission_id, queue = str(submission.pk), submission.exercise.queue
    transaction.on_commit(lambda: send(submission_id, queue))


def send(submission_id: str, queue: str) -> None:
    """Puts the grading task on the broker. If the broker is unreachable, the sweeper resends it later."""
    try:
        grade_submission.apply_async((submission_id,), queue=queue)
    except Exception:  # the row is safe in the database; losing the message only delays it
        logger.exception("could not send submission %s to the %s queue; the sweeper will resend it", submission_id, queue)


def _transition(submission: Submission, to_state: str, detail: str, **fields: object) -> None:
    from_state = submission.state
    submission.state = to_state
    for name, value in fields.items():
        setattr(submission, name, value)
    submission.save()
    SubmissionEvent.objects.create(submission=submission, from_state=from_state, to_state=to_state, detail=detail)


def _give_up(submission: Submission, detail: str) -> None:
    _transition(submission, State.ERROR, detail, finished_at=timezone.now(), feedback=(
        "We could not grade this submission: our grading service failed repeatedly. "
        "This is not a problem with your code; please submit it again later."
    ))
    logger.error("gave up on submission %s: %s", submission.pk, detail)


def _died_repeatedly(submission: Submission) -> str:
    return (f"started {submission.deliveries} times without a result (the worker died each time: killed, "
            f"out of memory, or crashed); see the logs of {submission.worker}")


def mark_running(submission_id: str | uuid.UUID, *, worker: str, pid: int, device: str) -> Submission | None:
    """Claims a submission for grading; None when there is nothing to grade (already final, or given up)."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.is_final:
            logger.info("delivery of submission %s ignored: %s", submission_id, submission.state if submission else "gone")
            return None
        if submission.deliveries >= settings.GRADER_MAX_DELIVERIES:
            _give_up(submission, _died_repeatedly(submission))
            return None
        redelivery = " (redelivered: the previous worker stopped while grading)" if submission.state == State.RUNNING else ""
        _transition(
            submission,
            State.RUNNING,
            f"{worker} pid {pid} on {device}, delivery {submission.deliveries + 1}{redelivery}",
            started_at=timezone.now(),
            deliveries=submission.deliveries + 1,
            worker=worker,
            worker_pid=pid,
            device=device,
        )
    return Submission.objects.select_related("exercise").get(pk=submission_id)


def record_result(submission_id: str | uuid.UUID, outcome: GradingOutcome) -> bool:
    """Writes the outcome if the submission is still running; False when another delivery already did."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.state != State.RUNNING:
            logger.info("result for submission %s ignored: it is %s", submission_id, submission.state if submission else "gone")
            return False
        if outcome.verdict == Verdict.ERROR and submission.deliveries < settings.GRADER_MAX_DELIVERIES:
            _requeue(submission, f"our error, retrying: {outcome.feedback}")
            return True
        if outcome.verdict == Verdict.ERROR:
            _give_up(submission, f"our error on each of {submission.deliveries} deliveries, last: {outcome.feedback}")
            return True
        summary = (
            f"score {outcome.score:g}/{outcome.max_score:g}"
            if outcome.verdict == Verdict.GRADED
            else outcome.feedback.splitlines()[0][:200] if outcome.feedback else ""
        )
        _transition(
            submission,
            outcome.verdict,
            summary,
            finished_at=timezone.now(),
            score=outcome.score,
            max_score=outcome.max_score,
            feedback=outcome.feedback,
            checks=outcome.checks,
            metrics=outcome.metrics,
            output=outcome.output,
            resources=outcome.resources,
            seed=outcome.seed,
            device=outcome.device or submission.device,
        )
    return True


def _requeue(submission: Submission, detail: str, **fields: object) -> None:
    _transition(submission, State.QUEUED, detail, queued_at=timezone.now(), sends=submission.sends + 1, **fields)
    _send_on_commit(submission)


def requeue(submission: Submission, *, by: str) -> None:
    """Sends a submission to be graded again from scratch (an operator's action), whatever its state."""
    with transaction.atomic():
        submission = Submission.objects.select_for_update().select_related("exercise").get(pk=submission.pk)
        _requeue(submission, f"requeued by {by}", deliveries=0)


@dataclass
class SweepReport:
    resent: int = 0
    requeued: int = 0
    gave_up: int = 0


def sweep(now: datetime | None = None) -> SweepReport:
    """Resends submissions no worker picked up in time, requeues those a dead worker left running."""
    now = now or timezone.now()
    report = SweepReport()
    queued_deadline = now - timedelta(seconds=settings.GRADER_QUEUED_TIMEOUT)
    running_grace = timedelta(seconds=settings.GRADER_RUNNING_GRACE)
    stale_queued = Submission.objects.filter(state=State.QUEUED, queued_at__lt=queued_deadline).values_list("pk", flat=True)
    stale_running = Submission.objects.filter(state=State.RUNNING, started_at__lt=now - running_grace).values_list("pk", flat=True)
    for submission_id in list(stale_queued) + list(stale_running):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().select_related("exercise").get(pk=submission_id)
            if submission.state == State.QUEUED and submission.queued_at < queued_deadline:
                waited = (now - submission.queued_at).total_seconds()
                if submission.sends >= settings.GRADER_MAX_DELIVERIES:
                    _give_up(submission, f"sent {submission.sends} times and never picked up; is a worker consuming "
                                         f"the {submission.exercise.queue!r} queue, and is the broker up?")
                    report.gave_up += 1
                else:
                    _transition(submission, State.QUEUED, f"not picked up within {waited:.0f} s; resent",
                                queued_at=now, sends=submission.sends + 1)
                    _send_on_commit(submission)
                    report.resent += 1
            elif submission.state == State.RUNNING:
                deadline = submission.started_at + timedelta(seconds=submission.exercise.wall_seconds) + running_grace
                if deadline >= now:
                    continue
                if submission.deliveries >= settings.GRADER_MAX_DELIVERIES:
                    _give_up(submission, _died_repeatedly(submission))
                    report.gave_up += 1
                else:
                    _requeue(submission, f"{submission.worker} pid {submission.worker_pid} gave no result "
                                         f"{(now - submission.started_at).total_seconds():.0f} s after starting; requeued")
                    report.requeued += 1
    return report


def check_reference_solution(exercise: CodeExercise, *, publish: bool = False) -> GradingOutcome:
    """Grades the kind's reference solution as a submission would be; only full marks allow publishing.

    Records the result (the configuration's fingerprint when it scored full marks, nothing otherwise), so
    changing the kind or configuration later requires a new check before the exercise can be published.
    """
    outcome = grade_exercise(exercise, exercise.grader().reference_solution)
    full_marks = outcome.verdict == Verdict.GRADED and outcome.score == outcome.max_score
    exercise.reference_checked = exercise.grading_fingerprint() if full_marks else ""
    if not full_marks:
        exercise.is_published = False
    elif publish:
        exercise.is_published = True
    exercise.save(update_fields=["reference_checked", "is_published"])
    return outcome
