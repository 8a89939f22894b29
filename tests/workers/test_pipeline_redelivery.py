"""Workers killed mid-grade, through a real Redis and real Celery worker processes: the submission is
graded again and exactly once. Each test starts its own workers."""

import os
import signal

import pytest

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, make_exercise, slow_add
from tests.workers.live_pipeline import (  # noqa: F401
    assert_graded_exactly_once, broker, start_worker, unlimited, wait_all_final, wait_for,
)
from workers.celery_app import app

pytestmark = [pytest.mark.live_worker, pytest.mark.django_db(transaction=True)]
State = Submission.State


def test_each_exercise_waits_in_its_own_queue(broker, learner, unlimited):
    redis = broker.client()
    redis.flushall()
    with app.connection_for_write() as connection:  # declare both queues, as a worker consuming them does
        for queue in app.amqp.queues.values():
            queue(connection.default_channel).declare()
    cpu, gpu = make_exercise(), make_exercise(slug="add-on-gpu", needs_gpu=True)
    for exercise in (cpu, gpu, gpu):
        services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD)
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
