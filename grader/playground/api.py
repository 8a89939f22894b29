"""The playground in the JSON API: start a run of some code for an exercise, then fetch what it produced."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from grader.playground import services
from grader.submissions import selectors
from grader.submissions.services import SubmissionRefused

router = Router(tags=["playground"])


class RunIn(Schema):
    code: str


class RunStarted(Schema):
    id: str


class RunOut(Schema):
    status: str  # queued, ok, error (the code failed), stopped (it hit a limit)
    stdout: str = ""
    message: str = ""
    line: int | None = None
    figures: list[str] = []
    model: str | None = None


@router.post("/exercises/{slug}/runs", response={202: RunStarted})
def start_run(request, slug: str, payload: RunIn):
    exercise = get_object_or_404(selectors.visible_exercises(request.user), slug=slug)
    try:
        run_id = services.start_run(learner=request.user, exercise=exercise, code=payload.code)
    except SubmissionRefused as refusal:
        raise HttpError(refusal.status, str(refusal)) from None
    return Status(202, {"id": run_id})


@router.get("/runs/{run_id}", response=RunOut)
def run(request, run_id: str):
    data = services.run_of(request.user, run_id)
    if data is None:
        raise HttpError(404, "No such run: runs are kept for 10 minutes, and only their author can see them.")
    return data
