"""Fixtures for code exercises and submissions; test modules import the ones they use."""

from __future__ import annotations

import pytest

from courses.models import Course, Lesson, Phase
from grader.models import CodeExercise

ADD_CASES = [
    {"args": [1, 2], "expected": 3},
    {"args": [-1, 1], "expected": 0},
    {"args": [0.1, 0.2], "expected": 0.3},
    {"args": [10, 5], "expected": 15, "hidden": True},
]
CORRECT_ADD = "def add(a, b):\n    return a + b\n"
ADD_CONFIG = {"function": "add", "cases": ADD_CASES, "reference_solution": CORRECT_ADD}
WRONG_ADD = "def add(a, b):\n    return a - b\n"


def slow_add(seconds: float) -> str:
    """A correct solution that takes ``seconds`` per call, to be caught mid-grade."""
    return f"import time\n\ndef add(a, b):\n    time.sleep({seconds / len(ADD_CASES)})\n    return a + b\n"


def make_exercise(**fields) -> CodeExercise:
    course, _ = Course.objects.get_or_create(slug="pipeline", defaults={"title": "Pipeline"})
    phase, _ = Phase.objects.get_or_create(course=course, number=1, defaults={"title": "Warm-up"})
    lesson, _ = Lesson.objects.get_or_create(
        code="pipeline-01", defaults={"phase": phase, "title": "Warm-up", "status": Lesson.Status.PUBLISHED}
    )
    values = {
        "lesson": lesson,
        "slug": "add",
        "title": "Add two numbers",
        "statement": "Write `add(a, b)` returning $a + b$.",
        "kind": "function-tests",
        "config": ADD_CONFIG,
        "max_score": 10.0,
        "wall_seconds": 5.0,
        "cpu_seconds": 5.0,
        "memory_mb": 1024,
        "is_published": True,
    }
    exercise = CodeExercise(**values | fields)
    exercise.reference_checked = exercise.grading_fingerprint()
    exercise.save()
    return exercise


@pytest.fixture
def code_exercise(db) -> CodeExercise:
    return make_exercise()
