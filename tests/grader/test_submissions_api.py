"""The submissions API: create, read state and result, list mine; never another learner's."""

import pytest

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, code_exercise  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_broker")


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "send", lambda submission_id, queue: None)


def test_create_returns_the_queued_submission_with_its_position(learner_client, code_exercise):
    response = learner_client.post(
        "/api/submissions", {"exercise": "add", "code": CORRECT_ADD}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["state"], body["queue_position"], body["attempt"], body["final"]) == ("queued", 1, 1, False)
    assert Submission.objects.get(pk=body["id"]).code == CORRECT_ADD


def test_refusals_carry_the_learners_message(learner_client, code_exercise, settings):
    settings.GRADER_MAX_PENDING = 1
    learner_client.post("/api/submissions", {"exercise": "add", "code": CORRECT_ADD}, content_type="application/json")
    response = learner_client.post(
        "/api/submissions", {"exercise": "add", "code": CORRECT_ADD}, content_type="application/json"
    )
    assert response.status_code == 429
    assert "already have 1 submission waiting" in response.json()["detail"]


def test_unpublished_and_unknown_exercises_are_not_found(learner_client, code_exercise):
    code_exercise.is_published = False
    code_exercise.save()
    for slug in ("add", "nope"):
        response = learner_client.post(
            "/api/submissions", {"exercise": slug, "code": CORRECT_ADD}, content_type="application/json"
        )
        assert response.status_code == 404


def test_read_shows_the_result(learner_client, learner, code_exercise):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    Submission.objects.filter(pk=submission.pk).update(
        state="graded", score=7.5, max_score=10, feedback="3 of 4 test cases passed.", checks={"case 1": {"passed": True}}
    )
    body = learner_client.get(f"/api/submissions/{submission.pk}").json()
    assert (body["state"], body["score"], body["final"], body["queue_position"]) == ("graded", 7.5, True, None)
    assert "3 of 4 test cases passed." in body["feedback_html"]


def test_another_learners_submission_is_not_found(client, learner, other_learner, code_exercise):
    theirs = services.submit(learner=other_learner, exercise=code_exercise, code=CORRECT_ADD)
    client.force_login(learner)
    assert client.get(f"/api/submissions/{theirs.pk}").status_code == 404
    assert client.get("/api/submissions").json() == []


def test_list_is_mine_newest_first(learner_client, learner, other_learner, code_exercise):
    first = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    second = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    services.submit(learner=other_learner, exercise=code_exercise, code=CORRECT_ADD)
    ids = [s["id"] for s in learner_client.get("/api/submissions?exercise=add").json()]
    assert ids == [str(second.pk), str(first.pk)]


def test_anonymous_requests_are_refused(client, code_exercise):
    assert client.get("/api/submissions").status_code == 401


def test_the_openapi_schema_describes_submissions(learner_client):
    paths = learner_client.get("/api/openapi.json").json()["paths"]
    assert {"/api/submissions", "/api/submissions/{submission_id}"} <= set(paths)
