"""The learner's exercise page."""

import pytest

from grader.models import Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, code_exercise  # noqa: F401


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "send", lambda submission_id, queue: None)


def test_page_has_the_editor_with_starter_code_and_no_cdn(learner_client, code_exercise):
    code_exercise.starter_code = "def add(a, b):\n    pass\n"
    code_exercise.save()
    page = learner_client.get(code_exercise.get_absolute_url()).content.decode()
    assert "Add two numbers" in page and "<code>add(a, b)</code>" in page
    assert "def add(a, b):\n    pass" in page
    assert "vendor/codemirror-5.65.21/codemirror.js" in page and "mode/python/python.js" in page
    assert "https://" not in page.split("<main")[1]


def test_page_lists_past_submissions_and_follows_a_pending_one(learner_client, learner, code_exercise, no_broker):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    page = learner_client.get(code_exercise.get_absolute_url()).content.decode()
    assert f'data-follow="{submission.pk}"' in page
    assert f'<tr data-id="{submission.pk}">' in page and "Resubmit from this" in page


def test_the_form_submits_without_javascript_and_shows_refusals(learner_client, learner, code_exercise, no_broker, settings):
    settings.GRADER_MAX_PENDING = 1
    learner_client.post(code_exercise.get_absolute_url(), {"code": CORRECT_ADD})
    response = learner_client.post(code_exercise.get_absolute_url(), {"code": CORRECT_ADD}, follow=True)
    assert Submission.objects.filter(learner=learner).count() == 1
    assert "already have 1 submission waiting" in response.content.decode()


def test_drafts_are_hidden_from_learners(learner_client, code_exercise):
    code_exercise.is_published = False
    code_exercise.save()
    assert learner_client.get(code_exercise.get_absolute_url()).status_code == 404


def test_the_page_needs_a_login(client, code_exercise):
    assert client.get(code_exercise.get_absolute_url()).status_code == 302
