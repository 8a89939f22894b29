"""Quizzes: grading, partial credit, attempt limits, stable shuffles, feedback timing, and hidden answers."""

import pytest
from django.urls import reverse

from courses.models import Quiz
from grader.attempts import services
from grader.attempts.grading import InvalidAnswers
from grader.attempts.selectors import choices_in_order, quiz_state
from grader.models import QuizAttempt
from tests.grader.conftest import add_question


def selections(quiz, first, second):
    one, two = quiz.questions.order_by("order")
    return {one.pk: list(first), two.pk: list(second)}


def test_a_fully_right_attempt_scores_one_and_records_each_response(quiz, learner):
    attempt = services.submit_quiz(learner.pk, quiz, selections(quiz, "B", "AC"))
    assert (attempt.number, attempt.score) == (1, 1.0)
    assert sorted((r.selected, r.score) for r in attempt.responses.all()) == [(["A", "C"], 1.0), (["B"], 1.0)]


@pytest.mark.parametrize(
    ("picked", "score"), [("AC", 1.0), ("A", 0.5), ("ACD", 0.5), ("AB", 0.0), ("BD", 0.0), ("ABCD", 0.0)]
)
def test_multiple_answer_questions_earn_right_minus_wrong_picks(quiz, learner, picked, score):
    attempt = services.submit_quiz(learner.pk, quiz, selections(quiz, "B", picked))
    assert attempt.responses.get(question__kind="multiple").score == score
    assert attempt.score == pytest.approx((1.0 + score) / 2)


def test_a_single_answer_question_wants_exactly_one_choice_and_an_unread_form_uses_no_attempt(quiz, learner):
    with pytest.raises(InvalidAnswers) as refusal:
        services.submit_quiz(learner.pk, quiz, selections(quiz, "AB", ""))
    one, two = quiz.questions.order_by("order")
    assert refusal.value.errors == {
        str(one.pk): "Question 1: choose exactly one answer; received 2 (A, B).",
        str(two.pk): "Question 2: choose at least one answer.",
    }
    with pytest.raises(InvalidAnswers, match="Question 1 has no choice E; its choices are A, B, C, D."):
        services.submit_quiz(learner.pk, quiz, selections(quiz, "E", "A"))
    assert not QuizAttempt.objects.exists()


def test_attempts_stop_at_the_limit_and_are_counted_per_learner(quiz, learner, other_learner):
    for _ in range(2):
        services.submit_quiz(learner.pk, quiz, selections(quiz, "A", "A"))
    with pytest.raises(services.AttemptRefused, match="all 2 attempts"):
        services.submit_quiz(learner.pk, quiz, selections(quiz, "B", "AC"))
    assert services.submit_quiz(other_learner.pk, quiz, selections(quiz, "B", "AC")).number == 1


def test_zero_attempts_allowed_means_unlimited(quiz, learner):
    Quiz.objects.filter(pk=quiz.pk).update(attempts_allowed=0)
    quiz.refresh_from_db()
    numbers = [services.submit_quiz(learner.pk, quiz, selections(quiz, "A", "A")).number for _ in range(4)]
    assert numbers == [1, 2, 3, 4]
    assert quiz_state(quiz, learner.pk).can_attempt


def test_shuffled_choices_are_stable_for_a_learner_and_differ_between_learners(quiz, learner):
    question = add_question(quiz, prompt="Many choices", correct="A", labels="ABCDEFGH", order=3)
    orders = {tuple(c.label for c in choices_in_order(question, learner_id, shuffle=True)) for learner_id in range(1, 30)}
    assert len(orders) > 10
    mine = [c.label for c in choices_in_order(question, learner.pk, shuffle=True)]
    assert [c.label for c in choices_in_order(question, learner.pk, shuffle=True)] == mine
    assert [c.label for c in choices_in_order(question, learner.pk, shuffle=False)] == list("ABCDEFGH")


def test_feedback_after_each_attempt(quiz, learner):
    services.submit_quiz(learner.pk, quiz, selections(quiz, "A", "A"))
    assert quiz_state(quiz, learner.pk).feedback_visible


def test_feedback_only_after_the_last_attempt_unless_nothing_is_left_to_find(quiz, learner, other_learner):
    Quiz.objects.filter(pk=quiz.pk).update(feedback_timing=Quiz.FeedbackTiming.LAST_ATTEMPT)
    quiz.refresh_from_db()
    services.submit_quiz(learner.pk, quiz, selections(quiz, "A", "A"))
    assert not quiz_state(quiz, learner.pk).feedback_visible
    services.submit_quiz(learner.pk, quiz, selections(quiz, "A", "A"))
    assert quiz_state(quiz, learner.pk).feedback_visible
    services.submit_quiz(other_learner.pk, quiz, selections(quiz, "B", "AC"))
    assert quiz_state(quiz, other_learner.pk).feedback_visible


# --- the page -------------------------------------------------------------------------------------


def explanations(quiz):
    return [choice.explanation for question in quiz.questions.all() for choice in question.choices.all()]


def test_the_quiz_page_shows_no_answer_or_explanation_before_an_attempt(quiz, learner_client):
    page = learner_client.get(reverse("grader:quiz", args=[quiz.pk])).content.decode()
    assert "What is the superposition hypothesis?" in page
    assert "Option B of" in page
    for text in explanations(quiz) + ["Right choice", "Wrong choice", "is_correct"]:
        assert text not in page


def test_submitting_the_form_shows_every_choice_right_or_wrong_with_its_explanation(quiz, learner_client):
    one, two = quiz.questions.order_by("order")
    url = reverse("grader:quiz", args=[quiz.pk])
    response = learner_client.post(url, {f"q{one.pk}": "A", f"q{two.pk}": ["A", "C"]}, follow=True)
    page = response.content.decode()
    for text in explanations(quiz):
        assert text in page
    assert "Wrong choice, and you chose it." in page
    assert page.count("Right choice, and you chose it.") == 2
    assert "Latest score: <strong>50%</strong>" in page


def test_an_unreadable_form_says_what_is_missing_keeps_the_choices_and_uses_no_attempt(quiz, learner_client):
    one, two = quiz.questions.order_by("order")
    response = learner_client.post(reverse("grader:quiz", args=[quiz.pk]), {f"q{two.pk}": ["C"]})
    page = response.content.decode()
    assert "Question 1: choose exactly one answer; received none." in page
    assert f'name="q{two.pk}" value="C" checked' in page
    assert not QuizAttempt.objects.exists()


def test_after_the_last_attempt_the_form_is_closed(quiz, learner_client):
    one, two = quiz.questions.order_by("order")
    url = reverse("grader:quiz", args=[quiz.pk])
    for _ in range(2):
        learner_client.post(url, {f"q{one.pk}": "A", f"q{two.pk}": "A"})
    response = learner_client.post(url, {f"q{one.pk}": "B", f"q{two.pk}": "A"}, follow=True)
    page = response.content.decode()
    assert "You have used all 2 attempts allowed for this quiz." in page
    assert "Submit answers" not in page
    assert QuizAttempt.objects.count() == 2


def test_the_quiz_page_requires_a_login_and_a_published_lesson(quiz, client, learner):
    url = reverse("grader:quiz", args=[quiz.pk])
    assert client.get(url).status_code == 302
    client.force_login(learner)
    assert client.get(url).status_code == 200
    quiz.lesson.status = "draft"
    quiz.lesson.save()
    assert client.get(url).status_code == 404
