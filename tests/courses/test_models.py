"""What the content models promise: order, owners, tolerances, addresses."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from courses.models import AnswerPart, Course, KeyTerm, Lesson, Phase, Question, Quiz, WorkedExample


@pytest.fixture
def bare_lesson(db) -> Lesson:
    course = Course.objects.create(slug="mi", title="Mechanistic Interpretability")
    phase = Phase.objects.create(course=course, number=25, title="Frontiers & Active Research Areas")
    return Lesson.objects.create(phase=phase, code="25-09", title="Probing")


def test_lesson_lives_at_its_code(bare_lesson):
    assert bare_lesson.get_absolute_url() == "/lessons/25-09/"
    assert str(bare_lesson) == "25-09 — Probing"
    assert str(bare_lesson.phase) == "25 — Frontiers & Active Research Areas"


def test_rows_of_a_section_come_in_their_order(bare_lesson):
    for order, term in [(3, "c"), (1, "a"), (2, "b")]:
        KeyTerm.objects.create(lesson=bare_lesson, order=order, term=term, anchor=term, definition=term)
    assert [t.term for t in bare_lesson.key_terms.all()] == ["a", "b", "c"]


def test_key_term_anchors_are_unique_within_a_lesson(bare_lesson):
    KeyTerm.objects.create(lesson=bare_lesson, term="Feature", anchor="feature", definition="…")
    with pytest.raises(IntegrityError), transaction.atomic():
        KeyTerm.objects.create(lesson=bare_lesson, term="Feature again", anchor="feature", definition="…")


def test_an_answer_part_needs_a_tolerance(bare_lesson):
    example = WorkedExample.objects.create(lesson=bare_lesson, title="t", statement="s", grading="numeric")
    part = AnswerPart(worked_example=example, key="w", prompt="w", expected=[1, 2])
    with pytest.raises(ValidationError, match="tolerance"):
        part.full_clean()
    part.rel_tolerance = 0.05
    part.full_clean()


def test_an_answer_part_has_exactly_one_owner(bare_lesson):
    with pytest.raises(IntegrityError), transaction.atomic():
        AnswerPart.objects.create(key="w", prompt="w", expected=1, abs_tolerance=0.1)


def test_a_question_belongs_to_a_quiz_or_a_worked_example_not_both(bare_lesson):
    quiz = Quiz.objects.create(lesson=bare_lesson)
    example = WorkedExample.objects.create(lesson=bare_lesson, title="t", statement="s", grading="choice")
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(quiz=quiz, worked_example=example, prompt="?")
    Question.objects.create(worked_example=example, prompt="?")
    assert example.question.prompt == "?"
