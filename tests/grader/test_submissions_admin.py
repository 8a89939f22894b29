"""Authoring code exercises and operating submissions in the admin."""

import pytest
from django.core.exceptions import ValidationError

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, code_exercise  # noqa: F401


def test_the_configuration_is_validated_against_the_kind(code_exercise):
    code_exercise.config = {"function": "add", "cases": [{"args": [1], "expeted": 1}]}
    with pytest.raises(ValidationError, match=r"Not a valid function-tests configuration — cases\.0\.expected: Field required"):
        code_exercise.full_clean()


def test_publishing_needs_the_reference_solution_checked_on_this_configuration(code_exercise):
    code_exercise.full_clean()
    code_exercise.config = code_exercise.config | {"function": "plus"}
    with pytest.raises(ValidationError, match="Grade the reference solution first"):
        code_exercise.full_clean()


def test_admins_requeue_submissions(admin_client, learner, code_exercise, monkeypatch):
    monkeypatch.setattr(services, "send", lambda submission_id, queue: None)
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    Submission.objects.filter(pk=submission.pk).update(state=Submission.State.ERROR)
    admin_client.post(
        "/admin/grader/submission/", {"action": "requeue", "_selected_action": [str(submission.pk)]}
    )
    submission.refresh_from_db()
    assert submission.state == Submission.State.QUEUED
    assert submission.events.last().detail == "requeued by admin admin"


def test_the_submission_page_shows_its_history(admin_client, learner, code_exercise, monkeypatch):
    monkeypatch.setattr(services, "send", lambda submission_id, queue: None)
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    page = admin_client.get(f"/admin/grader/submission/{submission.pk}/change/").content.decode()
    assert "submitted" in page
    assert admin_client.get("/admin/grader/submission/?state__exact=queued").status_code == 200
