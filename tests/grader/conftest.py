"""A small slice of lesson 25-01 built directly in the database, with its grading configuration."""

import threading

import pytest

from courses.models import (
    AnswerPart,
    Choice,
    Course,
    GradedItem,
    Lesson,
    Phase,
    PracticeProblem,
    Question,
    Quiz,
    RubricPoint,
    WorkedExample,
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Creating learners dominates these tests' time with the production hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lesson(db):
    course = Course.objects.create(slug="mi", title="Interpretability")
    phase = Phase.objects.create(course=course, number=25, title="Frontiers")
    return Lesson.objects.create(phase=phase, code="25-01", title="Mechanistic Interpretability", status=Lesson.Status.PUBLISHED)


def add_question(quiz=None, worked_example=None, *, prompt, correct, labels="ABCD", kind=Question.Kind.SINGLE, order=0):
    question = Question.objects.create(quiz=quiz, worked_example=worked_example, prompt=prompt, kind=kind, order=order)
    for position, label in enumerate(labels):
        Choice.objects.create(
            question=question,
            label=label,
            order=position,
            text=f"Option {label} of {prompt}",
            is_correct=label in correct,
            explanation=f"Because {label} explains {prompt}",
        )
    return question


@pytest.fixture
def quiz(lesson):
    quiz = Quiz.objects.create(lesson=lesson, attempts_allowed=2)
    add_question(quiz, prompt="What is the superposition hypothesis?", correct="B", order=1)
    add_question(quiz, prompt="Which are circuits?", correct="AC", kind=Question.Kind.MULTIPLE, order=2)
    return quiz


@pytest.fixture
def example_1(lesson):
    """Worked Example 1 with per-learner activations (feature_direction)."""
    example = WorkedExample.objects.create(
        lesson=lesson,
        order=1,
        title="Example 1: Finding a Feature Direction",
        statement="Activations a1 = {{a1}} and a2 = {{a2}}.",
        solution="Normalise the difference.",
        grading=GradedItem.Grading.NUMERIC,
        generator="feature_direction",
    )
    for order, key in enumerate(["w", "projection-positive", "projection-negative"]):
        AnswerPart.objects.create(worked_example=example, order=order, key=key, prompt=key, abs_tolerance=0.01)
    return example


@pytest.fixture
def example_2(lesson):
    example = WorkedExample.objects.create(
        lesson=lesson, order=2, title="Example 2: Detecting Polysemanticity", statement="Top activations …",
        solution="It is polysemantic.", grading=GradedItem.Grading.CHOICE,
    )
    add_question(worked_example=example, prompt="Monosemantic or polysemantic?", correct="B", labels="AB")
    return example


@pytest.fixture
def problem_1(lesson):
    """Practice Problem 1 with the lesson's fixed numbers, f4 = [0.6, 0.6, 0.528]."""
    problem = PracticeProblem.objects.create(
        lesson=lesson, order=1, title="Problem 1", statement="f4 = [0.6, 0.6, 0.528]", answer="0.6, 0.6, 0.528, 0.999",
        grading=GradedItem.Grading.NUMERIC,
    )
    for order, (key, expected) in enumerate(
        [("f1-f4", 0.6), ("f2-f4", 0.6), ("f3-f4", 0.528), ("f4-squared-norm", 0.998784)]
    ):
        AnswerPart.objects.create(practice_problem=problem, order=order, key=key, prompt=key, expected=expected, abs_tolerance=0.005)
    return problem


@pytest.fixture
def problem_4(lesson):
    problem = PracticeProblem.objects.create(
        lesson=lesson, order=4, title="Problem 4", statement="d = {{d}}, p = {{p}}", grading=GradedItem.Grading.NUMERIC,
        generator="feature_capacity",
    )
    AnswerPart.objects.create(practice_problem=problem, key="max-features", prompt="n", rel_tolerance=0.05)
    return problem


@pytest.fixture
def problem_2(lesson):
    problem = PracticeProblem.objects.create(
        lesson=lesson, order=2, title="Problem 2: Probing and use", statement="Does 99% accuracy prove use?",
        answer="No: presence is not use; intervene causally.", grading=GradedItem.Grading.SELF_ASSESSED,
    )
    RubricPoint.objects.create(practice_problem=problem, order=1, text="Says presence is not use", weight=2)
    RubricPoint.objects.create(practice_problem=problem, order=2, text="Proposes a causal intervention", weight=1)
    return problem


class MemoryStore:
    """Stands in for the Redis that keeps playground results (``workers.playground.store``) in tests that only
    check what the web side does; the live tests use the real Redis."""

    def __init__(self):
        self.values, self.lock = {}, threading.Lock()

    def set(self, key, value, ex=None):
        with self.lock:
            self.values[key] = value

    def get(self, key):
        return self.values.get(key)


@pytest.fixture
def sent(monkeypatch):
    """Playground runs started in a test: their results kept in memory, their Celery sends recorded."""
    from workers import playground

    store, calls = MemoryStore(), []
    monkeypatch.setattr(playground, "store", lambda: store)
    monkeypatch.setattr(playground.run_playground, "apply_async", lambda args, queue: calls.append((args, queue)))
    return calls
