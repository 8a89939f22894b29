"""Submissions in the JSON API: create one, read its state and result, list mine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from courses.rendering import render_feedback
from grader.models import Submission
from grader.submissions import selectors, services

router = Router(tags=["submissions"])


class SubmissionIn(Schema):
    exercise: str
    code: str


class SubmissionOut(Schema):
    id: uuid.UUID
    exercise: str
    attempt: int
    state: str
    final: bool
    queue_position: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    score: float | None
    max_score: float | None
    feedback: str
    feedback_html: str
    checks: dict[str, Any]
    metrics: dict[str, Any]
    output: str
    resources: dict[str, Any]
    device: str

    @staticmethod
    def resolve_exercise(obj: Submission) -> str:
        return obj.exercise.slug

    @staticmethod
    def resolve_final(obj: Submission) -> bool:
        return obj.is_final

    @staticmethod
    def resolve_queue_position(obj: Submission) -> int | None:
        return selectors.queue_position(obj)

    @staticmethod
    def resolve_feedback_html(obj: Submission) -> str:
        return str(render_feedback(obj.feedback)) if obj.feedback else ""


class Refusal(Schema):
    detail: str


@router.post("/submissions", response={201: SubmissionOut, 404: Refusal, 413: Refusal, 422: Refusal, 429: Refusal})
def create_submission(request, payload: SubmissionIn):
    exercise = get_object_or_404(selectors.visible_exercises(request.user), slug=payload.exercise)
    try:
        submission = services.submit(learner=request.user, exercise=exercise, code=payload.code)
    except services.SubmissionRefused as refusal:
        raise HttpError(refusal.status, str(refusal)) from None
    return Status(201, submission)


@router.get("/submissions/{submission_id}", response=SubmissionOut)
def read_submission(request, submission_id: uuid.UUID):
    try:
        return selectors.submission_of(request.user, submission_id)
    except Submission.DoesNotExist:
        raise HttpError(404, "No such submission.") from None


@router.get("/submissions", response=list[SubmissionOut])
def list_submissions(request, exercise: str | None = None, limit: int = 50):
    submissions = selectors.submissions_of(request.user)
    if exercise:
        submissions = submissions.filter(exercise__slug=exercise)
    return submissions[: max(1, min(limit, 200))]
