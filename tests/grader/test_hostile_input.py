"""Input a hostile learner might send: never a server error, always a clear refusal or a safe rendering (issue 17)."""

import json

import pytest
from django.urls import reverse

from courses.rendering import render_markdown
from grader.models import SelfAssessment, Submission
from grader.submissions import services
from tests.grader.submission_fixtures import CORRECT_ADD, code_exercise, make_exercise  # noqa: F401
from workers import playground

SURROGATE = "print('\ud800')"


@pytest.fixture
def no_broker(monkeypatch):
    monkeypatch.setattr(services, "send", lambda submission_id, queue: None)
    monkeypatch.setattr(playground, "save_run", lambda run_id, data: None)
    monkeypatch.setattr(playground.run_playground, "apply_async", lambda args, queue: None)


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_a_lone_surrogate_in_submitted_code_is_refused_with_422(learner_client, code_exercise, no_broker):
    response = post_json(learner_client, "/api/submissions", {"exercise": "add", "code": SURROGATE})
    assert response.status_code == 422
    assert "Unicode" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_a_lone_surrogate_in_playground_code_is_refused_with_422(learner_client, no_broker):
    make_exercise()
    response = post_json(learner_client, "/api/playground/exercises/add/runs", {"code": SURROGATE})
    assert response.status_code == 422
    assert "Unicode" in response.json()["detail"]


def test_a_lone_surrogate_in_a_written_answer_is_refused_with_422(learner_client, problem_2):
    url = f"/api/attempts/problems/practice-problem/{problem_2.pk}/written"
    response = post_json(learner_client, url, {"response": "Only \ud800 correlation"})
    assert response.status_code == 422
    assert "Unicode" in response.json()["errors"]["response"]
    assert not SelfAssessment.objects.exists()


def test_a_lone_surrogate_in_a_numeric_part_is_refused_with_422(learner_client, problem_1):
    url = f"/api/attempts/problems/practice-problem/{problem_1.pk}"
    response = post_json(learner_client, url, {"parts": {"f1-f4": "0.6\ud800"}})
    assert response.status_code == 422
    assert "Unicode" in response.json()["errors"]["f1-f4"]


def test_superscript_digits_as_rubric_points_are_refused_without_a_server_error(learner_client, problem_2):
    url = reverse("grader:problem", args=["practice-problem", problem_2.pk])
    learner_client.post(url, {"response": "Only correlation"})
    response = learner_client.post(url, {"points": ["²"]})
    assert response.status_code == 422
    assert "rubric point" in response.content.decode()
    assert SelfAssessment.objects.get().assessed_at is None


def test_superscript_digits_as_the_learner_on_the_variants_page_are_a_400(example_1, client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("grader:variants", args=["worked-example", example_1.pk]), {"learner": "²"})
    assert response.status_code == 400
    assert "learner" in response.content.decode()


@pytest.mark.parametrize("text", ["$\\frac{$", "$$\\frac{$$", "$\\begin{matrix}$", "\ud800 $x$", "$\\sqrt[$"])
def test_the_math_renderer_never_raises_and_shows_what_it_cannot_render_as_source(text):
    html = str(render_markdown(text))
    assert "<script" not in html
    if "frac" in text:
        assert "\\frac{" in html


def test_feedback_quoting_a_broken_formula_keeps_the_submissions_api_working(learner_client, learner, code_exercise, no_broker):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    Submission.objects.filter(pk=submission.pk).update(state="error", feedback="Your code raised ValueError: $\\frac{$")
    listed = learner_client.get("/api/submissions")
    one = learner_client.get(f"/api/submissions/{submission.pk}")
    assert (listed.status_code, one.status_code) == (200, 200)
    assert "\\frac{" in one.json()["feedback_html"]


def test_feedback_quoting_learner_markdown_has_no_live_images_or_links(learner_client, learner, code_exercise, no_broker):
    submission = services.submit(learner=learner, exercise=code_exercise, code=CORRECT_ADD)
    message = (
        "Your code raised ValueError: ![t](https://host/t.png) click [x](https://evil.example/) "
        "or <https://evil.example/auto> ![r][ref]\n\n[ref]: https://host/r.png\n\n<img src=https://host/i.png>"
    )
    Submission.objects.filter(pk=submission.pk).update(state="graded", score=0, max_score=1, feedback=message)
    for body in [learner_client.get(f"/api/submissions/{submission.pk}").json(), learner_client.get("/api/submissions").json()[0]]:
        html = body["feedback_html"]
        assert "<img" not in html and "<a" not in html and "href=" not in html and 'src="' not in html
        assert "https://host/t.png" in html  # shown as text, for the learner to read
        assert "ValueError" in html


def test_a_numeric_answer_over_1000_characters_is_refused_and_not_stored(learner_client, problem_1, settings):
    from grader.models import ProblemAttempt

    assert settings.ANSWER_MAX_CHARS == 1000
    url = f"/api/attempts/problems/practice-problem/{problem_1.pk}"
    parts = {"f1-f4": "0.6", "f2-f4": "0.6", "f3-f4": "0.528", "f4-squared-norm": "1"}
    response = post_json(learner_client, url, {"parts": {**parts, "f1-f4": "0" * 790_000 + ".6"}})
    assert response.status_code == 422
    assert "the limit is 1,000 characters" in response.json()["errors"]["f1-f4"]
    assert not ProblemAttempt.objects.exists()
    padded = "0.6" + " " * 997  # at the limit: accepted
    assert post_json(learner_client, url, {"parts": {**parts, "f1-f4": padded}}).status_code == 201


def test_a_written_answer_over_20000_characters_is_refused_and_not_stored(learner_client, problem_2, settings):
    assert settings.WRITTEN_ANSWER_MAX_CHARS == 20_000
    url = f"/api/attempts/problems/practice-problem/{problem_2.pk}/written"
    response = post_json(learner_client, url, {"response": "x" * 2_400_000})
    assert response.status_code == 422
    assert "the limit is 20,000 characters" in response.json()["errors"]["response"]
    assert not SelfAssessment.objects.exists()
    page = learner_client.post(reverse("grader:problem", args=["practice-problem", problem_2.pk]), {"response": "y" * 20_001})
    assert page.status_code == 422 and "the limit is 20,000 characters" in page.content.decode()
    assert not SelfAssessment.objects.exists()
    assert post_json(learner_client, url, {"response": "z" * 20_000}).status_code == 201
