"""Progress per learner and lesson: what is done and the score; the dashboard page."""

import pytest
from django.urls import reverse

from grader.attempts import services
from grader.attempts.selectors import learner_progress


@pytest.fixture
def graded_lesson(quiz, example_2, problem_1, problem_2):
    return quiz.lesson


def test_nothing_done_scores_zero_and_lists_every_graded_item(graded_lesson, learner):
    (progress,) = learner_progress(learner.pk)
    assert [ref.title for ref, _ in progress.items] == ["Example 2: Detecting Polysemanticity", "Problem 1", "Problem 2: Probing and use", "Quiz"]
    assert (progress.done, progress.score) == (0, 0.0)


def test_best_scores_count_and_self_assessment_is_done_once_marked(graded_lesson, quiz, example_2, problem_2, learner, other_learner):
    one, two = quiz.questions.order_by("order")
    services.submit_quiz(learner.pk, quiz, {one.pk: ["B"], two.pk: ["A", "C"]})
    services.submit_quiz(learner.pk, quiz, {one.pk: ["A"], two.pk: ["A", "C"]})
    services.submit_problem(learner.pk, example_2, selected=["A"])
    services.write_self_assessment(learner.pk, problem_2, "Correlation is not use")
    services.submit_quiz(other_learner.pk, quiz, {one.pk: ["A"], two.pk: ["B"]})

    (progress,) = learner_progress(learner.pk)
    by_title = {ref.title: score for ref, score in progress.items}
    assert (by_title["Quiz"].best, by_title["Quiz"].attempts, by_title["Quiz"].done) == (1.0, 2, True)
    assert (by_title["Example 2: Detecting Polysemanticity"].best, by_title["Example 2: Detecting Polysemanticity"].done) == (0.0, True)
    assert by_title["Problem 2: Probing and use"].done is False
    assert progress.done == 2
    assert progress.score == pytest.approx(1.0 / 4)

    services.assess_self(learner.pk, problem_2, [p.pk for p in problem_2.rubric.all()])
    (progress,) = learner_progress(learner.pk)
    assert progress.done == 3
    assert progress.score == pytest.approx(2.0 / 4)


def test_draft_lessons_are_not_on_the_dashboard(graded_lesson, learner):
    graded_lesson.status = "draft"
    graded_lesson.save()
    assert learner_progress(learner.pk) == []


def test_the_dashboard_page_shows_done_items_and_scores(graded_lesson, quiz, learner, learner_client):
    one, two = quiz.questions.order_by("order")
    services.submit_quiz(learner.pk, quiz, {one.pk: ["B"], two.pk: ["A"]})
    page = learner_client.get(reverse("grader:progress")).content.decode()
    assert "25-01 — Mechanistic Interpretability" in page
    assert "1 of 4 done" in page
    assert "75%" in page
    assert reverse("grader:quiz", args=[quiz.pk]) in page


def test_the_dashboard_needs_a_login(client):
    assert client.get(reverse("grader:progress")).status_code == 302
