"""Playground runs against the real Redis and a file database, as a hostile learner sends them: 25 at
once, in parallel threads, get only the pending limit accepted; the runs wait on their own queue, never
in front of a submission in the submission queues."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from grader.models import PlaygroundRun
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, make_exercise
from tests.workers.live_pipeline import broker  # noqa: F401

pytestmark = [pytest.mark.live_worker, pytest.mark.django_db(transaction=True)]


def test_25_parallel_runs_and_a_submission_through_the_real_redis(broker, learner, settings):  # noqa: F811
    settings.REDIS_URL = broker.url  # where playground results are kept
    settings.GRADER_MAX_PENDING, settings.GRADER_RATE_LIMIT = 3, 10
    redis = broker.client()
    redis.flushall()
    exercise = make_exercise()

    def start(_):
        client = Client()
        client.force_login(learner)
        try:
            return client.post("/api/playground/exercises/add/runs", json.dumps({"code": "print(1)"}),
                               content_type="application/json")
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=25) as pool:
            responses = list(pool.map(start, range(25)))
        codes = sorted(response.status_code for response in responses)
        assert codes == [202] * 3 + [429] * 22, codes
        refused = next(response for response in responses if response.status_code == 429).json()["detail"]
        assert "playground runs waiting or running (at most 3 at once)" in refused
        assert PlaygroundRun.objects.count() == 3

        submission = services.submit(learner=learner, exercise=exercise, code=CORRECT_ADD)
        assert redis.llen("playground") == 3
        assert redis.llen("cpu") == 1 and redis.llen("gpu") == 0
        message = json.loads(redis.lindex("cpu", 0))
        assert message["headers"]["task"] == "workers.grade_submission"
        assert message["headers"]["argsrepr"] == repr((str(submission.pk),))
        assert all(json.loads(raw)["headers"]["task"] == "workers.run_playground" for raw in redis.lrange("playground", 0, -1))
    finally:
        redis.flushall()
