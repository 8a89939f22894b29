"""JSON API for answering quizzes and problems, mounted at /api/attempts/.

Same rules as the pages (grader.attempts.selectors decides what is visible), same session auth with
CSRF on writes. Unreadable answers get 422 with a message per field and use up no attempt; a quiz
with no attempts left gets 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import BaseModel

from grader.attempts import selectors, services
from grader.attempts.grading import InvalidAnswers
from grader.attempts.selectors import ProblemState, QuestionView, QuizState

router = Router(tags=["attempts"])


class Refusal(BaseModel):
    detail: str
    errors: dict[str, str] = {}


class ChoiceOut(BaseModel):
    label: str
    text: str


class ChoiceFeedback(BaseModel):
    label: str
    correct: bool
    chosen: bool
    explanation: str


class QuestionFeedback(BaseModel):
    score: float
    choices: list[ChoiceFeedback]


class QuestionOut(BaseModel):
    id: int
    number: int
    kind: str
    prompt: str
    choices: list[ChoiceOut]
    selected: list[str]
    feedback: QuestionFeedback | None = None


class QuizOut(BaseModel):
    id: int
    title: str
    lesson: str
    attempts_allowed: int
    attempts_used: int
    attempts_left: int | None
    can_attempt: bool
    latest_score: float | None
    best_score: float | None
    feedback_visible: bool
    questions: list[QuestionOut]


class QuizAnswers(Schema):
    #: question id → labels of the chosen choices
    answers: dict[int, list[str]]


class PartOut(BaseModel):
    key: str
    prompt: str
    typed: str
    result: dict[str, Any] | None


class RubricPointOut(BaseModel):
    id: int
    text: str
    weight: float
    made: bool | None


class SelfAssessmentOut(BaseModel):
    response: str
    assessed: bool
    score: float | None
    reference_answer: str
    rubric: list[RubricPointOut]


class ProblemOut(BaseModel):
    kind: str
    id: int
    title: str
    grading: str
    statement: str
    numbers: dict[str, str]
    parts: list[PartOut]
    question: QuestionOut | None
    attempts: int
    latest_score: float | None
    best_score: float | None
    #: the lesson's solution and short answer, once the learner has answered (worked with the lesson's numbers)
    solution: str | None
    answer: str | None
    self_assessment: SelfAssessmentOut | None


class ProblemAnswers(Schema):
    #: numeric items: part key → text as typed
    parts: dict[str, str] = {}
    #: choice items: labels of the chosen choices
    selected: list[str] = []


class WrittenAnswer(Schema):
    response: str


class RubricTicks(Schema):
    points: list[int]


class ItemProgressOut(BaseModel):
    title: str
    url: str
    done: bool
    best_score: float | None
    attempts: int


class LessonProgressOut(BaseModel):
    code: str
    title: str
    done: int
    items: int
    score: float
    progress: list[ItemProgressOut]


def _question(view: QuestionView, feedback: bool) -> dict:
    data = {
        "id": view.question.pk,
        "number": view.number,
        "kind": view.question.kind,
        "prompt": view.question.prompt,
        "choices": [{"label": choice.label, "text": choice.text} for choice in view.choices],
        "selected": view.selected,
        "feedback": None,
    }
    if feedback and view.response:
        data["feedback"] = {
            "score": view.response.score,
            "choices": [
                {
                    "label": choice.label,
                    "correct": choice.is_correct,
                    "chosen": choice.label in view.response.selected,
                    "explanation": choice.explanation,
                }
                for choice in view.choices
            ],
        }
    return data


def _quiz(state: QuizState) -> dict:
    quiz = state.quiz
    return {
        "id": quiz.pk,
        "title": quiz.title,
        "lesson": quiz.lesson.code,
        "attempts_allowed": quiz.attempts_allowed,
        "attempts_used": len(state.attempts),
        "attempts_left": state.attempts_left,
        "can_attempt": state.can_attempt,
        "latest_score": state.latest.score if state.latest else None,
        "best_score": state.best_score,
        "feedback_visible": state.feedback_visible,
        "questions": [_question(view, state.feedback_visible) for view in state.questions],
    }


def _problem(state: ProblemState) -> dict:
    item = state.item
    assessment = state.self_assessment
    self_out = None
    if assessment is not None:
        made = {point.pk for point in assessment.points_made.all()}
        self_out = {
            "response": assessment.response,
            "assessed": assessment.assessed_at is not None,
            "score": assessment.score,
            "reference_answer": item.answer,
            "rubric": [
                {"id": p.pk, "text": p.text, "weight": p.weight, "made": (p.pk in made) if assessment.assessed_at else None}
                for p in item.rubric.all()
            ],
        }
    return {
        "kind": state.kind,
        "id": item.pk,
        "title": item.title,
        "grading": item.grading,
        "statement": state.statement,
        "numbers": state.variant.values if state.variant else {},
        "parts": [{"key": p.key, "prompt": p.prompt, "typed": typed, "result": result} for p, typed, result in state.part_rows],
        "question": _question(state.question, feedback=True) if state.question else None,
        "attempts": len(state.attempts),
        "latest_score": state.latest.score if state.latest else None,
        "best_score": state.best_score,
        "solution": item.solution if state.reference_visible else None,
        "answer": item.answer if state.reference_visible else None,
        "self_assessment": self_out,
    }


def _answer(write: Callable[[], object], status: int, read: Callable[[], dict]) -> Status:
    """Run a write; on success answer with the fresh state, else 422 (unreadable, nothing recorded) or 409 (refused)."""
    try:
        write()
    except InvalidAnswers as invalid:
        return Status(422, {"detail": "Some answers could not be read; nothing was recorded.", "errors": invalid.errors})
    except services.AttemptRefused as refused:  # 409, or 429 when attempts come faster than the item allows
        return Status(refused.status, {"detail": str(refused), "errors": {}})
    return Status(status, read())


@router.get("/quizzes/{quiz_id}", response=QuizOut)
def get_quiz(request: HttpRequest, quiz_id: int):
    """The quiz as this learner sees it: choices in their order; correct answers only through feedback."""
    return _quiz(selectors.quiz_state(selectors.published_quiz(quiz_id), request.user.pk))


@router.post("/quizzes/{quiz_id}", response={201: QuizOut, 409: Refusal, 422: Refusal, 429: Refusal})
def submit_quiz(request: HttpRequest, quiz_id: int, payload: QuizAnswers):
    quiz = selectors.published_quiz(quiz_id)
    questions = selectors.quiz_questions(quiz)
    attempts = selectors.quiz_attempts(quiz, request.user.pk)

    def write() -> None:
        attempt = services.submit_quiz(request.user.pk, quiz, payload.answers, questions, attempts_used=len(attempts))
        # After a race the attempt's number skips others' writes: read the learner's attempts again.
        attempts[:] = attempts + [attempt] if attempt.number == len(attempts) + 1 else selectors.quiz_attempts(quiz, request.user.pk)

    return _answer(write, 201, lambda: _quiz(selectors.quiz_state(quiz, request.user.pk, questions, attempts)))


@router.get("/problems/{kind}/{item_id}", response=ProblemOut)
def get_problem(request: HttpRequest, kind: str, item_id: int):
    """The item with the learner's own numbers; reference answers only once the learner has answered."""
    return _problem(selectors.problem_state(selectors.graded_item(kind, item_id), request.user.pk))


@router.post("/problems/{kind}/{item_id}", response={201: ProblemOut, 409: Refusal, 422: Refusal, 429: Refusal})
def submit_problem(request: HttpRequest, kind: str, item_id: int, payload: ProblemAnswers):
    item = selectors.graded_item(kind, item_id)
    return _answer(
        lambda: services.submit_problem(request.user.pk, item, typed=payload.parts, selected=payload.selected),
        201,
        lambda: _problem(selectors.problem_state(item, request.user.pk)),
    )


@router.post("/problems/practice-problem/{item_id}/written", response={201: ProblemOut, 409: Refusal, 422: Refusal})
def write_answer(request: HttpRequest, item_id: int, payload: WrittenAnswer):
    """Step one of self-assessment: the learner's own answer, before the reference answer is shown."""
    problem = selectors.graded_item("practice-problem", item_id)
    return _answer(
        lambda: services.write_self_assessment(request.user.pk, problem, payload.response),
        201,
        lambda: _problem(selectors.problem_state(problem, request.user.pk)),
    )


@router.post("/problems/practice-problem/{item_id}/rubric", response={200: ProblemOut, 409: Refusal, 422: Refusal})
def tick_rubric(request: HttpRequest, item_id: int, payload: RubricTicks):
    """Step two: the rubric points the learner's answer made."""
    problem = selectors.graded_item("practice-problem", item_id)
    return _answer(
        lambda: services.assess_self(request.user.pk, problem, payload.points),
        200,
        lambda: _problem(selectors.problem_state(problem, request.user.pk)),
    )


@router.get("/progress", response=list[LessonProgressOut])
def progress(request: HttpRequest):
    return [
        {
            "code": lesson.lesson.code,
            "title": lesson.lesson.title,
            "done": lesson.done,
            "items": len(lesson.items),
            "score": lesson.score,
            "progress": [
                {"title": ref.title, "url": ref.url, "done": score.done, "best_score": score.best, "attempts": score.attempts}
                for ref, score in lesson.items
            ],
        }
        for lesson in selectors.learner_progress(request.user.pk)
    ]
