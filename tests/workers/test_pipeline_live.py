"""The whole road through a real Redis and real Celery worker processes: every submission ends graded
exactly once, also when the worker is killed mid-grade or the broker restarts with submissions queued."""

import os
import signal

import pytest

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, WRONG_ADD, make_exercise, slow_add
from tests.workers.live_pipeline import broker, start_worker, wait_all_final, wait_for  # noqa: F401
from workers.celery_app import app

pytestmark = [pytest.mark.live_worker, pytest.mark.django_db(transaction=True)]
State = Submission.State


@pytest.fixture
def unlimited(settings):
    settings.GRADER_MAX_PENDING = 1000
    settings.GRADER_RATE_LIMIT = 1000


def graded_events(submission):
    return list(submission.events.filter(to_state=State.GRADED))


def assert_graded_exactly_once(submissions, score=10.0):
    for submission in submissions:
        submission.refresh_from_db()
        assert submission.state == State.GRADED, (submission.state, submission.feedback)
        assert submission.score == score
        assert len(graded_events(submission)) == 1


def test_happy_path_through_redis_and_a_worker(start_worker, learner, unlimited):
    exercise = make_exercise()
    worker = start_worker()
    right = services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD)
    wrong = services.submit(learner=learner, exercise=exercise, code=WRONG_ADD)
    wait_all_final([right, wrong], 30, worker)
    assert_graded_exactly_once([right])
    wrong.refresh_from_db()
    assert wrong.state == State.GRADED and wrong.score == 0.0
    assert "returned -1; expected 3" in wrong.feedback
    assert (right.device, right.deliveries) == ("cpu", 1)
    assert right.worker.startswith("w1@")
    assert [e.to_state for e in right.events.all()] == [State.QUEUED, State.RUNNING, State.GRADED]


def test_each_exercise_waits_in_its_own_queue(broker, learner, unlimited):
    with app.connection_for_write() as connection:  # declare both queues, as a worker consuming them does
        for queue in app.amqp.queues.values():
            queue(connection.default_channel).declare()
    cpu, gpu = make_exercise(), make_exercise(slug="add-on-gpu", needs_gpu=True)
    for exercise in (cpu, gpu, gpu):
        services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD)
    redis = broker.client()
    wait_for(lambda: redis.llen("gpu") == 2, 5, "two messages in the gpu queue")
    assert redis.llen("cpu") == 1


def test_a_task_is_redelivered_after_its_worker_process_is_killed_mid_grade(start_worker, learner, unlimited):
    exercise = make_exercise()
    worker = start_worker()
    submission = services.submit(learner=learner, exercise=exercise, code=slow_add(seconds=2.0))
    wait_for(lambda: Submission.objects.get(pk=submission.pk).state == State.RUNNING, 30, "grading to start", worker)
    submission.refresh_from_db()
    os.kill(submission.worker_pid, signal.SIGKILL)  # the pool process that is grading it
    wait_all_final([submission], 30, worker)
    assert_graded_exactly_once([submission])
    assert submission.deliveries == 2
    assert "redelivered" in submission.events.filter(to_state=State.RUNNING).last().detail


def test_a_killed_worker_is_replaced_and_the_sweeper_requeues_its_submission(start_worker, learner, unlimited, settings):
    settings.GRADER_RUNNING_GRACE = 0.5
    exercise = make_exercise(wall_seconds=1.5)
    first = start_worker("w1")
    submission = services.submit(learner=learner, exercise=exercise, code=slow_add(seconds=1.0))
    wait_for(lambda: Submission.objects.get(pk=submission.pk).state == State.RUNNING, 30, "grading to start", first)
    first.kill()  # main process and pool: its message stays unacknowledged until the visibility timeout
    second = start_worker("w2")
    wait_for(lambda: services.sweep().requeued, 10, "the sweeper to requeue it")
    wait_all_final([submission], 30, second)
    assert_graded_exactly_once([submission])
    submission.refresh_from_db()
    assert submission.worker.startswith("w2@")


def test_redis_restarted_with_submissions_queued(start_worker, broker, learner, unlimited):
    exercise = make_exercise()
    worker = start_worker()
    submissions = [services.submit(learner=learner, exercise=exercise, code=slow_add(seconds=0.2)) for _ in range(8)]
    wait_for(lambda: Submission.objects.filter(state=State.GRADED).exists(), 30, "the first grade", worker)
    broker.restart()
    assert Submission.objects.filter(state=State.QUEUED).exists()  # some were still waiting in Redis
    wait_all_final(submissions, 60, worker)
    assert_graded_exactly_once(submissions)
