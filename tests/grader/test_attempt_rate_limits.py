"""Attempts at quizzes and problems come no faster than each item allows (``attempts_per_minute``):
a script guessing numbers or choices in a burst is stopped with 429 and a message saying how long to wait."""

import json
from datetime import timedelta

from django.utils import timezone

from courses.models import AnswerPart, GradedItem, PracticeProblem
from grader.models import ProblemAttempt, QuizAttempt


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def guess(number):
    return {"f1-f4": str(number), "f2-f4": "0.6", "f3-f4": "0.5", "f4-squared-norm": "1"}


def test_60_numeric_attempts_in_a_burst_are_not_all_accepted(problem_1, learner_client):
    url = f"/api/attempts/problems/practice-problem/{problem_1.pk}"
    responses = [post(learner_client, url, {"parts": guess(n / 100)}) for n in range(60)]
    codes = [response.status_code for response in responses]
    assert codes == [201] * 10 + [429] * 50, codes
    detail = responses[-1].json()["detail"]
    assert "answered 10 times in the last minute at “Problem 1” (the limit is 10)" in detail
    assert "Please wait" in detail and "seconds before answering again" in detail
    assert ProblemAttempt.objects.count() == 10


def test_the_limit_is_per_item_and_configurable(problem_1, learner_client):
    problem_1.attempts_per_minute = 2
    problem_1.save()
    url = f"/api/attempts/problems/practice-problem/{problem_1.pk}"
    assert [post(learner_client, url, {"parts": guess(0.1)}).status_code for _ in range(3)] == [201, 201, 429]
    # Another item is not affected.
    other = PracticeProblem.objects.create(lesson=problem_1.lesson, order=9, title="Other", statement="x",
                                           grading=GradedItem.Grading.NUMERIC)
    AnswerPart.objects.create(practice_problem=other, order=0, key="x", prompt="x", expected=1.0, abs_tolerance=0.1)
    assert post(learner_client, f"/api/attempts/problems/practice-problem/{other.pk}", {"parts": {"x": "1"}}).status_code == 201
    # A minute later the learner may answer again.
    ProblemAttempt.objects.filter(practice_problem=problem_1).update(submitted_at=timezone.now() - timedelta(seconds=61))
    assert post(learner_client, url, {"parts": guess(0.1)}).status_code == 201
    # 0 means no limit.
    problem_1.attempts_per_minute = 0
    problem_1.save()
    assert all(post(learner_client, url, {"parts": guess(0.2)}).status_code == 201 for _ in range(5))


def test_quiz_attempts_are_rate_limited_too(quiz, learner_client):
    quiz.attempts_allowed, quiz.attempts_per_minute = 0, 5
    quiz.save()
    questions = list(quiz.questions.values_list("pk", flat=True))
    answers = {"answers": {str(pk): ["A"] for pk in questions}}
    codes = [post(learner_client, f"/api/attempts/quizzes/{quiz.pk}", answers).status_code for _ in range(8)]
    assert codes == [201] * 5 + [429] * 3
    assert QuizAttempt.objects.count() == 5


def test_the_form_page_says_why_the_attempt_was_refused(problem_1, learner_client):
    problem_1.attempts_per_minute = 1
    problem_1.save()
    url = f"/grader/problems/practice-problem/{problem_1.pk}/"
    form = {f"part-{key}": value for key, value in guess(0.1).items()}
    learner_client.post(url, form)
    page = learner_client.post(url, form, follow=True).content.decode()
    assert "the limit is 1" in page
    assert ProblemAttempt.objects.count() == 1


def test_the_default_limits_are_editable_in_the_admin(admin_client, problem_1, quiz):
    assert 'name="attempts_per_minute"' in admin_client.get(f"/admin/courses/practiceproblem/{problem_1.pk}/change/").content.decode()
    assert 'name="attempts_per_minute"' in admin_client.get(f"/admin/courses/quiz/{quiz.pk}/change/").content.decode()
