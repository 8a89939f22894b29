"""Writes: grade a submission synchronously and record it, in one transaction.

Input that cannot be read raises :class:`InvalidAnswers` before anything is written, so it never
uses up an attempt. Attempt numbers are unique per learner and item; when two submissions race,
the loser re-counts and, if the limit is reached meanwhile, is refused like any late attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from courses.models import GradedItem, PracticeProblem, Question, Quiz
from grader import limits
from grader.attempts.grading import InvalidAnswers, check_selection, choice_score, grade_parts
from grader.attempts.selectors import expected_answers, item_field, learner_variant, quiz_questions
from grader.models import ProblemAttempt, QuestionResponse, QuizAttempt, SelfAssessment
from grader.text_input import TextRefused, check_text

T = TypeVar("T")
_RACE_RETRIES = 3


class AttemptRefused(Exception):
    """The learner may not submit this now; the message says why."""

    status = 409


class TooManyAttempts(AttemptRefused):
    """More attempts at one item in a minute than the item allows (``attempts_per_minute``)."""

    status = 429


def _check_rate(learner_id: int, item: Quiz | GradedItem, recent: Callable[[datetime], Iterable[datetime]]) -> None:
    """Refuses the attempt when the learner already made the item's ``attempts_per_minute`` in the last minute.

    Called inside the attempt's transaction, after locking the learner's row, so parallel attempts are
    counted one after the other."""
    if not item.attempts_per_minute:
        return
    get_user_model().objects.select_for_update().only("pk").get(pk=learner_id)
    now = timezone.now()
    try:
        limits.check_rate(list(recent(now - limits.WINDOW)), item.attempts_per_minute, limits.ATTEMPTS, now=now,
                          where=f" at “{item}”")
    except limits.LimitReached as reached:
        raise TooManyAttempts(str(reached)) from None


def _numbered(create: Callable[[int], T], count: Callable[[], int], limit: int = 0,
              check_rate: Callable[[], None] = lambda: None) -> T:
    """Create the next-numbered attempt, retrying when a concurrent submission took the number."""
    for _ in range(_RACE_RETRIES):
        used = count()
        if limit and used >= limit:
            raise AttemptRefused(f"You have used all {limit} attempts allowed for this quiz.")
        try:
            with transaction.atomic():
                check_rate()
                return create(used + 1)
        except IntegrityError:
            continue
    raise AttemptRefused("Another submission of yours arrived at the same moment; please submit again.")


def _score_questions(
    questions: Iterable[Question], selections: Mapping[int, Iterable[str]]
) -> list[tuple[Question, list[str], float]]:
    graded, errors = [], {}
    for number, question in enumerate(questions, start=1):
        labels = {choice.label for choice in question.choices.all()}
        correct = {choice.label for choice in question.choices.all() if choice.is_correct}
        try:
            chosen = check_selection(question, labels, selections.get(question.pk, ()), name=f"Question {number}")
        except InvalidAnswers as invalid:
            errors[str(question.pk)] = invalid.errors[f"Question {number}"]
            continue
        graded.append((question, sorted(chosen), choice_score(question, correct, chosen)))
    if errors:
        raise InvalidAnswers(errors)
    return graded


def submit_quiz(
    learner_id: int,
    quiz: Quiz,
    selections: Mapping[int, Iterable[str]],
    questions: list[Question] | None = None,
    attempts_used: int | None = None,
) -> QuizAttempt:
    """Grade every question (selections maps question id to chosen labels) and record the attempt.

    ``questions`` (from ``selectors.quiz_questions``) and ``attempts_used`` (the learner's attempts the
    caller has just read) may be passed when the caller already holds them; a retry after a race re-counts.
    """
    graded = _score_questions(quiz_questions(quiz) if questions is None else questions, selections)
    score = sum(question_score for *_, question_score in graded) / len(graded) if graded else 0.0

    def create(number: int) -> QuizAttempt:
        attempt = QuizAttempt.objects.create(learner_id=learner_id, quiz=quiz, number=number, score=score)
        QuestionResponse.objects.bulk_create(
            QuestionResponse(quiz_attempt=attempt, question=question, selected=selected, score=question_score)
            for question, selected, question_score in graded
        )
        return attempt

    known = [] if attempts_used is None else [attempts_used]

    def count() -> int:
        return known.pop() if known else QuizAttempt.objects.filter(learner_id=learner_id, quiz=quiz).count()

    def recent(since: datetime) -> Iterable[datetime]:
        return QuizAttempt.objects.filter(learner_id=learner_id, quiz=quiz, submitted_at__gte=since).values_list(
            "submitted_at", flat=True)

    return _numbered(create, count, quiz.attempts_allowed, lambda: _check_rate(learner_id, quiz, recent))


def submit_problem(
    learner_id: int, item: GradedItem, *, typed: Mapping[str, str] | None = None, selected: Iterable[str] = ()
) -> ProblemAttempt:
    """Grade a numeric item from the text typed per part key, or a choice item from the selected labels."""
    owner = {item_field(item): item}
    variant = learner_variant(learner_id, item)
    question_result = None
    if item.grading == GradedItem.Grading.NUMERIC:
        parts = list(item.parts.all())
        results, score = grade_parts(parts, expected_answers(parts, variant), typed or {})
        answers = {part.key: (typed or {}).get(part.key, "") for part in parts}
        part_results = {key: result.as_json() for key, result in results.items()}
    elif item.grading == GradedItem.Grading.CHOICE:
        question = Question.objects.prefetch_related("choices").get(worked_example=item)
        ((question, chosen, score),) = _score_questions([question], {question.pk: selected})
        question_result = (question, chosen)
        answers, part_results = {"selected": chosen}, {}
    else:
        raise AttemptRefused(f"“{item.title}” is not graded by numbers or choices.")

    def create(number: int) -> ProblemAttempt:
        attempt = ProblemAttempt.objects.create(
            learner_id=learner_id,
            number=number,
            answers=answers,
            part_results=part_results,
            variant=variant.values if variant else {},
            score=score,
            **owner,
        )
        if question_result:
            question, chosen = question_result
            QuestionResponse.objects.create(problem_attempt=attempt, question=question, selected=chosen, score=score)
        return attempt

    def count() -> int:
        return ProblemAttempt.objects.filter(learner_id=learner_id, **owner).count()

    def recent(since: datetime) -> Iterable[datetime]:
        return ProblemAttempt.objects.filter(learner_id=learner_id, submitted_at__gte=since, **owner).values_list(
            "submitted_at", flat=True)

    return _numbered(create, count, check_rate=lambda: _check_rate(learner_id, item, recent))


def write_self_assessment(learner_id: int, problem: PracticeProblem, response: str) -> SelfAssessment:
    """Keep the learner's own answer; it is fixed once written, since the reference answer shows next."""
    if problem.grading != GradedItem.Grading.SELF_ASSESSED:
        raise AttemptRefused(f"“{problem.title}” is not self-assessed.")
    try:
        check_text(response, what="Your answer", max_chars=settings.WRITTEN_ANSWER_MAX_CHARS)
    except TextRefused as refused:
        raise InvalidAnswers({"response": str(refused)}) from None
    if not response.strip():
        raise InvalidAnswers({"response": "Write your answer before you see the reference answer; received nothing."})
    assessment, created = SelfAssessment.objects.get_or_create(
        learner_id=learner_id, practice_problem=problem, defaults={"response": response.strip()}
    )
    if not created:
        raise AttemptRefused("You have already written your answer to this problem.")
    return assessment


def assess_self(learner_id: int, problem: PracticeProblem, point_ids: Iterable[int]) -> SelfAssessment:
    """Record which rubric points the learner says their answer made, and the score they are worth."""
    rubric = {point.pk: point for point in problem.rubric.all()}
    chosen = set(point_ids)
    unknown = sorted(chosen - set(rubric))
    if unknown:
        raise InvalidAnswers({"points": f"Expected rubric points of this problem ({sorted(rubric)}); received {unknown}."})
    total = sum(point.weight for point in rubric.values()) or 1.0
    with transaction.atomic():
        # Locked, so two tabs submitting at once cannot both mark the same answer.
        assessment = SelfAssessment.objects.select_for_update().filter(learner_id=learner_id, practice_problem=problem).first()
        if assessment is None:
            raise AttemptRefused("Write your own answer first; the rubric shows after that.")
        if assessment.assessed_at is not None:
            raise AttemptRefused("You have already marked your answer against the rubric.")
        assessment.points_made.set(chosen)
        assessment.score = sum(rubric[pk].weight for pk in chosen) / total
        assessment.assessed_at = timezone.now()
        assessment.save(update_fields=["score", "assessed_at"])
    return assessment
