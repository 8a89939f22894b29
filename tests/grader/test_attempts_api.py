"""The JSON API under /api/attempts/: same rules as the pages, session auth, CSRF on writes."""

import json

import pytest
from django.test import Client

from grader.attempts.selectors import learner_variant
from grader.models import ProblemAttempt, QuizAttempt


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def question_ids(quiz):
    return [q.pk for q in quiz.questions.order_by("order")]


def test_the_quiz_as_served_before_an_attempt_carries_no_answer_or_explanation(quiz, learner_client):
    response = learner_client.get(f"/api/attempts/quizzes/{quiz.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "is_correct" not in body and "correct" not in body and "Because" not in body
    data = response.json()
    assert data["feedback_visible"] is False
    assert data["questions"][0]["choices"][1] == {"label": "B", "text": "Option B of What is the superposition hypothesis?"}
    assert all(question["feedback"] is None for question in data["questions"])


def test_submitting_returns_feedback_on_every_choice(quiz, learner_client):
    one, two = question_ids(quiz)
    response = post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", {"answers": {str(one): ["A"], str(two): ["A", "C"]}})
    assert response.status_code == 201
    data = response.json()
    assert (data["latest_score"], data["attempts_used"], data["attempts_left"]) == (0.5, 1, 1)
    first = data["questions"][0]["feedback"]
    assert first["score"] == 0.0
    assert first["choices"][0] == {"label": "A", "correct": False, "chosen": True, "explanation": "Because A explains What is the superposition hypothesis?"}
    assert [c["correct"] for c in first["choices"]] == [False, True, False, False]


def test_unreadable_answers_get_422_with_a_message_per_question_and_use_no_attempt(quiz, learner_client):
    one, two = question_ids(quiz)
    response = post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", {"answers": {str(one): ["A", "B"]}})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        str(one): "Question 1: choose exactly one answer; received 2 (A, B).",
        str(two): "Question 2: choose at least one answer.",
    }
    assert not QuizAttempt.objects.exists()


def test_no_attempts_left_gets_409(quiz, learner_client):
    one, two = question_ids(quiz)
    answers = {"answers": {str(one): ["A"], str(two): ["A"]}}
    assert [post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", answers).status_code for _ in range(3)] == [201, 201, 409]
    assert "all 2 attempts" in post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", answers).json()["detail"]


def test_writes_need_a_session_and_a_csrf_token(quiz, learner):
    one, two = question_ids(quiz)
    answers = {"answers": {str(one): ["B"], str(two): ["A"]}}
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.get(f"/api/attempts/quizzes/{quiz.pk}").status_code == 401
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    assert post(strict, f"/api/attempts/quizzes/{quiz.pk}", answers).status_code == 403
    strict.get(f"/grader/quizzes/{quiz.pk}/")  # sets the CSRF cookie, as the page would
    token = strict.cookies["csrftoken"].value
    response = strict.post(f"/api/attempts/quizzes/{quiz.pk}", json.dumps(answers), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


def test_a_numeric_problem_shows_the_learners_numbers_and_grades_parts(example_1, learner, learner_client):
    variant = learner_variant(learner.pk, example_1)
    data = learner_client.get(f"/api/attempts/problems/worked-example/{example_1.pk}").json()
    assert data["numbers"] == variant.values
    assert variant.values["a1"] in data["statement"]
    assert data["solution"] is None and data["answer"] is None
    assert [part["key"] for part in data["parts"]] == ["w", "projection-positive", "projection-negative"]

    typed = {"w": str(variant.answers["w"]), "projection-positive": "0", "projection-negative": f"{variant.answers['projection-negative']:.3f}"}
    response = post(learner_client, f"/api/attempts/problems/worked-example/{example_1.pk}", {"parts": typed})
    assert response.status_code == 201
    data = response.json()
    assert data["latest_score"] == pytest.approx(2 / 3)
    assert [part["result"]["passed"] for part in data["parts"]] == [True, False, True]
    assert data["solution"] == "Normalise the difference."


def test_an_unreadable_part_gets_422_naming_the_part(problem_1, learner_client):
    parts = {"f1-f4": "0.6", "f2-f4": "0.6", "f3-f4": "1..2", "f4-squared-norm": "1"}
    response = post(learner_client, f"/api/attempts/problems/practice-problem/{problem_1.pk}", {"parts": parts})
    assert response.status_code == 422
    assert response.json()["errors"] == {"f3-f4": "Expected a number such as 0.6, 3/5, -0.748 or 1.13e3; received “1..2”."}
    assert not ProblemAttempt.objects.exists()


def test_example_2_hides_its_explanations_until_answered(example_2, learner_client):
    url = f"/api/attempts/problems/worked-example/{example_2.pk}"
    assert "Because" not in learner_client.get(url).content.decode()
    data = post(learner_client, url, {"selected": ["B"]}).json()
    assert data["latest_score"] == 1.0
    assert data["question"]["feedback"]["choices"][1]["explanation"] == "Because B explains Monosemantic or polysemantic?"


def test_self_assessment_through_the_api(problem_2, learner_client):
    url = f"/api/attempts/problems/practice-problem/{problem_2.pk}"
    before = learner_client.get(url).content.decode()
    assert "presence is not use" not in before.lower()
    data = post(learner_client, f"{url}/written", {"response": "Presence, not use"}).json()
    assert data["self_assessment"]["reference_answer"] == "No: presence is not use; intervene causally."
    assert [point["made"] for point in data["self_assessment"]["rubric"]] == [None, None]
    first = data["self_assessment"]["rubric"][0]["id"]
    data = post(learner_client, f"{url}/rubric", {"points": [first]}).json()
    assert data["self_assessment"]["score"] == pytest.approx(2 / 3)
    assert [point["made"] for point in data["self_assessment"]["rubric"]] == [True, False]
    assert post(learner_client, f"{url}/rubric", {"points": []}).status_code == 409


def test_progress_through_the_api(quiz, learner_client):
    one, two = question_ids(quiz)
    post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", {"answers": {str(one): ["B"], str(two): ["A", "C"]}})
    (lesson,) = learner_client.get("/api/attempts/progress").json()
    assert (lesson["code"], lesson["done"], lesson["items"], lesson["score"]) == ("25-01", 1, 1, 1.0)


def test_unpublished_and_unknown_items_are_404(quiz, example_1, learner_client):
    assert learner_client.get("/api/attempts/problems/nonsense/1").status_code == 404
    quiz.lesson.status = "draft"
    quiz.lesson.save()
    assert learner_client.get(f"/api/attempts/quizzes/{quiz.pk}").status_code == 404
    assert learner_client.get(f"/api/attempts/problems/worked-example/{example_1.pk}").status_code == 404


def test_the_openapi_schema_documents_the_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in [
        "/api/attempts/quizzes/{quiz_id}",
        "/api/attempts/problems/{kind}/{item_id}",
        "/api/attempts/problems/practice-problem/{item_id}/written",
        "/api/attempts/problems/practice-problem/{item_id}/rubric",
        "/api/attempts/progress",
    ]:
        assert path in paths
