"""Lesson 25-01 as imported from its lesson files: everything graded online, as the issue's "done when" says."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from courses.models import Lesson
from courses.services import import_lesson_folder
from grader.attempts import services
from grader.attempts.selectors import learner_variant

RIGHT_QUIZ_ANSWERS = ["B", "B", "C", "C", "C", "B"]


@pytest.fixture
def lesson(db):
    import_lesson_folder(settings.BASE_DIR / "fixtures" / "lessons" / "25-01")
    return Lesson.objects.get(code="25-01")


def test_the_six_quiz_questions_are_graded_with_the_lessons_answer_key(lesson, learner):
    questions = list(lesson.quiz.questions.all())
    assert len(questions) == 6
    right = services.submit_quiz(learner.pk, lesson.quiz, {q.pk: [a] for q, a in zip(questions, RIGHT_QUIZ_ANSWERS)})
    assert right.score == 1.0
    wrong = services.submit_quiz(learner.pk, lesson.quiz, {q.pk: ["A"] for q in questions})
    assert wrong.score == 0.0


def test_examples_1_and_2_and_problems_1_and_4_are_graded_online(lesson, learner):
    example_1, example_2 = lesson.worked_examples.filter(grading__in=["numeric", "choice"]).order_by("order")
    problem_1, problem_4 = lesson.practice_problems.filter(grading="numeric").order_by("order")
    typed = {"w": "[0.805, −0.288, 0.518]", "projection-positive": ".99", "projection-negative": "-0.748"}
    assert services.submit_problem(learner.pk, example_1, typed=typed).score == 1.0
    assert services.submit_problem(learner.pk, example_2, selected=["B"]).score == 1.0
    typed = {"f1-f4": "3/5", "f2-f4": "0.6", "f3-f4": "0.528", "f4-squared-norm": "0.999"}
    assert services.submit_problem(learner.pk, problem_1, typed=typed).score == 1.0
    assert services.submit_problem(learner.pk, problem_4, typed={"max-features": "1,130"}).score == 1.0
    assert services.submit_problem(learner.pk, problem_4, typed={"max-features": "512"}).score == 0.0


def test_the_lesson_page_carries_the_answer_forms_but_no_answers_before_an_attempt(lesson, learner_client):
    page = learner_client.get(lesson.get_absolute_url()).content.decode()
    assert f'action="{reverse("grader:quiz", args=[lesson.quiz.pk])}"' in page
    assert page.count('class="answer-panel problem-panel"') == 7  # examples 1-2, problems 1-5
    for question in lesson.quiz.questions.all():
        for choice in question.choices.all():
            assert choice.explanation.split("$")[0][:40] not in page
    assert "Right choice" not in page and "Wrong choice" not in page
    assert page.count('name="csrfmiddlewaretoken" value="') == 1 + 8  # logout, quiz, 7 problems


def test_answering_on_the_lesson_page_returns_to_it_with_feedback(lesson, learner_client):
    url = lesson.get_absolute_url()
    form = {f"q{q.pk}": a for q, a in zip(lesson.quiz.questions.all(), RIGHT_QUIZ_ANSWERS)}
    form["next"] = f"{url}#quiz-{lesson.quiz.pk}"
    response = learner_client.post(reverse("grader:quiz", args=[lesson.quiz.pk]), form)
    assert response.status_code == 302 and response["Location"] == form["next"]
    page = learner_client.get(url).content.decode()
    assert len(re.findall("Right choice, and you chose it", page)) == 6
    assert "Latest score: <strong>100%</strong>" in page


def test_with_a_generator_the_lesson_page_shows_each_learner_their_own_numbers(lesson, learner, learner_client):
    example_1 = lesson.worked_examples.order_by("order").first()
    example_1.generator = "feature_direction"
    example_1.statement = "Activations: positive a1 = {{a1}}, negative a2 = {{a2}}."
    example_1.save()
    variant = learner_variant(learner.pk, example_1)
    page = learner_client.get(lesson.get_absolute_url()).content.decode()
    assert f"positive a1 = {variant.values['a1']}, negative a2 = {variant.values['a2']}" in page
    typed = {
        "w": str(variant.answers["w"]),
        "projection-positive": str(variant.answers["projection-positive"]),
        "projection-negative": str(variant.answers["projection-negative"]),
    }
    assert services.submit_problem(learner.pk, example_1, typed=typed).score == 1.0
