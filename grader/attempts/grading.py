"""Scoring, as plain functions of what was submitted and what is expected; no database access.

Multiple-answer questions earn partial credit: right picks minus wrong picks over the number of
right choices, never below zero. Numeric problems earn the weighted fraction of parts within
tolerance; a vector part passes only when every component does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings

from courses.models import AnswerPart, Question
from grader.attempts.answers import AnswerError, Value, off_components, parse_answer
from grader.text_input import TextRefused, check_text


class InvalidAnswers(ValueError):
    """Some input could not be read; nothing was recorded. ``errors`` maps a field to a message for the learner."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


def choice_score(question: Question, correct: set[str], selected: set[str]) -> float:
    if question.kind == Question.Kind.SINGLE or not correct:
        return 1.0 if selected == correct else 0.0
    return max(0.0, (len(selected & correct) - len(selected - correct)) / len(correct))


def check_selection(question: Question, labels: set[str], selected: Iterable[str], *, name: str) -> set[str]:
    """The selected labels as a set, or an error naming the question and what it accepts."""
    chosen = set(selected)
    unknown = sorted(chosen - labels)
    if unknown:
        raise InvalidAnswers({name: f"{name} has no choice {', '.join(unknown)}; its choices are {', '.join(sorted(labels))}."})
    if question.kind == Question.Kind.SINGLE and len(chosen) != 1:
        received = "none" if not chosen else f"{len(chosen)} ({', '.join(sorted(chosen))})"
        raise InvalidAnswers({name: f"{name}: choose exactly one answer; received {received}."})
    if not chosen:
        raise InvalidAnswers({name: f"{name}: choose at least one answer."})
    return chosen


@dataclass(frozen=True)
class PartResult:
    received: Value
    passed: bool
    #: 1-based positions of vector components outside tolerance (empty for a scalar)
    off: tuple[int, ...] = ()

    def as_json(self) -> dict:
        return {"received": self.received, "passed": self.passed, "off": list(self.off)}


def grade_parts(
    parts: Iterable[AnswerPart], expected: Mapping[str, Value], typed: Mapping[str, str]
) -> tuple[dict[str, PartResult], float]:
    """Per part key its result, and the weighted score; raises InvalidAnswers before grading anything."""
    parts = list(parts)
    received: dict[str, Value] = {}
    errors: dict[str, str] = {}
    for part in parts:
        try:
            text = check_text(typed.get(part.key, ""), what="This answer", max_chars=settings.ANSWER_MAX_CHARS)
            received[part.key] = parse_answer(text, expected[part.key])
        except (AnswerError, TextRefused) as error:
            errors[part.key] = str(error)
    if errors:
        raise InvalidAnswers(errors)
    results: dict[str, PartResult] = {}
    for part in parts:
        off = off_components(
            received[part.key],
            expected[part.key],
            abs_tolerance=part.abs_tolerance,
            rel_tolerance=part.rel_tolerance,
            sig_figs=part.sig_figs,
        )
        vector = isinstance(expected[part.key], list)
        results[part.key] = PartResult(received[part.key], passed=not off, off=tuple(off) if vector else ())
    total = sum(part.weight for part in parts) or 1.0
    return results, sum(part.weight for part in parts if results[part.key].passed) / total
