"""The rules that keep submissions from being lost or graded twice, without a broker or a worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, code_exercise  # noqa: F401
from workers.grading import GradingOutcome, Verdict

State = Submission.State


@pytest.fixture
def sent(monkeypatch):
    """Messages that would have gone to the broker, as (submission id, queue)."""
    messages = []
    monkeypatch.setattr(services, "send", lambda submission_id, queue: messages.append((submission_id, queue)))
    return messages


def graded(score=10.0):
    return GradingOutcome(Verdict.GRADED, score=score, max_score=10.0, feedback="4 of 4 test cases passed.")


def states(submission):
    return [(e.from_state, e.to_state) for e in submission.events.all()]


def test_submit_commits_the_row_then_sends_only_its_id(learner, code_exercise, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
        assert sent == []  # nothing reaches the broker before the commit
    assert len(callbacks) == 1
    assert sent == [(str(submission.pk), "cpu")]
    assert submission.state == State.QUEUED and submission.attempt == 1
    assert states(submission) == [("", State.QUEUED)]


def test_gpu_exercises_go_to_the_gpu_queue(learner, code_exercise, sent, django_capture_on_commit_callbacks):
    code_exercise.needs_gpu = True
    code_exercise.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    assert sent[0][1] == "gpu"


def test_attempts_count_per_learner_and_exercise(learner, other_learner, code_exercise, sent):
    services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    second = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    theirs = services.submit(learner=other_learner, exercise=code_exercise, code=CORRECT_ADD)
    assert (second.attempt, theirs.attempt) == (2, 1)


def test_empty_and_oversized_code_are_refused_with_the_size(learner, code_exercise, sent):
    with pytest.raises(services.SubmissionRefused, match="empty"):
        services.submit(learner=learner, exercise=code_exercise, code="  \n")
    with pytest.raises(services.SubmissionRefused, match=r"65\.0 KiB; submissions are limited to 64 KiB") as refused:
        services.submit(learner=learner, exercise=code_exercise, code="#" * (65 * 1024))
    assert refused.value.status == 413
    assert not Submission.objects.exists()


def test_at_most_k_pending_at_once(learner, code_exercise, sent, settings):
    settings.GRADER_MAX_PENDING = 2
    first = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    with pytest.raises(services.SubmissionRefused, match=r"already have 2 submissions waiting.*at most 2") as refused:
        services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    assert refused.value.status == 429
    Submission.objects.filter(pk=first.pk).update(state=State.GRADED)
    services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)


def test_rate_limit_says_how_long_to_wait(learner, code_exercise, sent, settings):
    settings.GRADER_RATE_LIMIT = 2
    for _ in range(2):
        submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
        Submission.objects.filter(pk=submission.pk).update(state=State.GRADED)
    with pytest.raises(services.SubmissionRefused, match=r"submitted 2 times in the last minute.*wait \d+ seconds"):
        services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)


def test_a_redelivered_task_never_grades_twice(learner, code_exercise, sent):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    assert services.mark_running(submission.pk, worker="w1", pid=1, device="cpu") is not None
    assert services.record_result(submission.pk, graded(10.0)) is True
    # The same message delivered again: nothing starts, and a late result cannot overwrite the grade.
    assert services.mark_running(submission.pk, worker="w2", pid=2, device="cpu") is None
    assert services.record_result(submission.pk, graded(0.0)) is False
    submission.refresh_from_db()
    assert (submission.state, submission.score, submission.worker) == (State.GRADED, 10.0, "w1")
    assert states(submission) == [("", State.QUEUED), (State.QUEUED, State.RUNNING), (State.RUNNING, State.GRADED)]


def test_a_redelivery_after_a_crash_runs_again_and_counts(learner, code_exercise, sent):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.mark_running(submission.pk, worker="w1", pid=1, device="cpu")
    again = services.mark_running(submission.pk, worker="w2", pid=2, device="cpu")
    assert again.deliveries == 2
    assert "redelivered" in again.events.last().detail


def test_the_gradings_seed_is_kept_to_reproduce_it(learner, code_exercise, sent):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.mark_running(submission.pk, worker="w1", pid=1, device="cpu")
    services.record_result(submission.pk, GradingOutcome(Verdict.GRADED, score=1.0, max_score=1.0, seed=2**62 + 5))
    submission.refresh_from_db()
    assert submission.seed == 2**62 + 5


def test_our_errors_are_retried_then_given_up(learner, code_exercise, sent, settings, django_capture_on_commit_callbacks):
    settings.GRADER_MAX_DELIVERIES = 2
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    broken = GradingOutcome(Verdict.ERROR, feedback="Grading failed on our side (OSError: disk full).")
    services.mark_running(submission.pk, worker="w", pid=1, device="cpu")
    with django_capture_on_commit_callbacks(execute=True):
        services.record_result(submission.pk, broken)
    submission.refresh_from_db()
    assert submission.state == State.QUEUED and len(sent) == 1
    services.mark_running(submission.pk, worker="w", pid=1, device="cpu")
    services.record_result(submission.pk, broken)
    submission.refresh_from_db()
    assert submission.state == State.ERROR
    assert "not a problem with your code" in submission.feedback
    assert "disk full" in submission.events.last().detail


def test_failures_keep_the_learner_facing_message(learner, code_exercise, sent):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.mark_running(submission.pk, worker="w", pid=1, device="cpu")
    services.record_result(submission.pk, GradingOutcome(Verdict.FAILED, feedback="NameError: name 'x' is not defined (line 2)"))
    submission.refresh_from_db()
    assert submission.state == State.FAILED and submission.score is None
    assert submission.events.last().detail == "NameError: name 'x' is not defined (line 2)"


def test_sweeper_resends_what_no_worker_picked_up(learner, code_exercise, sent, settings, django_capture_on_commit_callbacks):
    settings.GRADER_QUEUED_TIMEOUT = 60
    fresh = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    stale = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    Submission.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        report = services.sweep()
    assert (report.resent, report.requeued, report.gave_up) == (1, 0, 0)
    assert sent == [(str(stale.pk), "cpu")]
    stale.refresh_from_db()
    assert stale.sends == 2 and "not picked up within 61 s; resent" in stale.events.last().detail
    assert fresh.events.count() == 1


def test_sweeper_requeues_what_a_dead_worker_left_running(learner, code_exercise, sent, settings):
    settings.GRADER_RUNNING_GRACE = 10
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.mark_running(submission.pk, worker="w1@host", pid=42, device="cpu")
    assert services.sweep().requeued == 0  # still within the wall limit and the grace
    later = timezone.now() + timedelta(seconds=code_exercise.wall_seconds + 11)
    assert services.sweep(now=later).requeued == 1
    submission.refresh_from_db()
    assert submission.state == State.QUEUED
    assert "w1@host pid 42 gave no result" in submission.events.last().detail


def test_sweeper_gives_up_with_a_message_an_operator_can_act_on(learner, code_exercise, sent, settings):
    settings.GRADER_MAX_DELIVERIES = 2
    settings.GRADER_QUEUED_TIMEOUT = 60
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    for minutes in (5, 10):
        services.sweep(now=timezone.now() + timedelta(minutes=minutes))
    submission.refresh_from_db()
    assert submission.state == State.ERROR
    assert "is a worker consuming the 'cpu' queue" in submission.events.last().detail


def test_requeue_grades_again_from_scratch(learner, code_exercise, sent):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.mark_running(submission.pk, worker="w", pid=1, device="cpu")
    services.record_result(submission.pk, graded())
    services.requeue(submission, by="admin op")
    submission.refresh_from_db()
    assert (submission.state, submission.deliveries) == (State.QUEUED, 0)
    assert submission.events.last().detail == "requeued by admin op"
