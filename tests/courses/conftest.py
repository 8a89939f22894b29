"""Lesson 25-01 imported from its files, and a snapshot of a lesson's whole content for comparisons."""

from pathlib import Path

import pytest
from django.conf import settings
from django.forms.models import model_to_dict

from courses.models import Lesson
from courses.lesson_files import read_lesson_folder
from courses.services import import_lesson

LESSON_25_01 = Path(settings.BASE_DIR) / "fixtures" / "lessons" / "25-01"


@pytest.fixture(scope="session")
def lesson_25_01_data() -> dict:
    """The parsed files, read once: importing them is what each test repeats."""
    return read_lesson_folder(LESSON_25_01)


@pytest.fixture
def lesson(db, lesson_25_01_data) -> Lesson:
    return import_lesson(lesson_25_01_data).lesson


def _row(obj, *drop: str) -> dict:
    return {k: v for k, v in model_to_dict(obj).items() if k not in ("id", *drop)}


def snapshot(lesson: Lesson) -> dict:
    """Everything a lesson holds, without database ids, so two imports can be compared."""
    lesson = Lesson.objects.get(pk=lesson.pk)
    quiz = getattr(lesson, "quiz", None)
    return {
        "lesson": {
            **_row(lesson, "phase", "previous_lesson", "next_lesson", "prerequisite_lessons"),
            "course": _row(lesson.phase.course),
            "phase": _row(lesson.phase, "course"),
            "previous": lesson.previous_lesson and (lesson.previous_lesson.code, lesson.previous_lesson.title),
            "next": lesson.next_lesson and (lesson.next_lesson.code, lesson.next_lesson.title, lesson.next_lesson.status),
        },
        "objectives": [_row(o, "lesson") for o in lesson.objectives.all()],
        "core": [_row(b, "lesson") for b in lesson.core_blocks.all()],
        "terms": [_row(t, "lesson") for t in lesson.key_terms.all()],
        "examples": [
            {
                **_row(e, "lesson"),
                "parts": [_row(p, "worked_example", "practice_problem") for p in e.parts.all()],
                "question": _question(getattr(e, "question", None)),
            }
            for e in lesson.worked_examples.all()
        ],
        "problems": [
            {
                **_row(p, "lesson"),
                "parts": [_row(x, "worked_example", "practice_problem") for x in p.parts.all()],
                "rubric": [_row(r, "practice_problem") for r in p.rubric.all()],
            }
            for p in lesson.practice_problems.all()
        ],
        "quiz": quiz and {**_row(quiz, "lesson"), "questions": [_question(q) for q in quiz.questions.all()]},
        "pitfalls": [_row(p, "lesson") for p in lesson.pitfalls.all()],
    }


def _question(question):
    if question is None:
        return None
    return {**_row(question, "quiz", "worked_example"), "choices": [_row(c, "question") for c in question.choices.all()]}
