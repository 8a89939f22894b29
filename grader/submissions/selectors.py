"""Reads on code exercises and submissions: what a learner may see, and where a submission stands."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from grader.models import CodeExercise, Submission


def visible_exercises(user: AbstractBaseUser) -> QuerySet[CodeExercise]:
    """Published exercises; staff also see drafts, to try them before publishing."""
    exercises = CodeExercise.objects.select_related("lesson")
    return exercises if user.is_staff else exercises.filter(is_published=True)


def submissions_of(learner: AbstractBaseUser, exercise: CodeExercise | None = None) -> QuerySet[Submission]:
    submissions = Submission.objects.filter(learner=learner).select_related("exercise")
    return submissions.filter(exercise=exercise) if exercise is not None else submissions


def submission_of(learner: AbstractBaseUser, submission_id: uuid.UUID) -> Submission:
    """The learner's own submission; another learner's raises DoesNotExist, exactly like a missing one."""
    return submissions_of(learner).get(pk=submission_id)


def queue_position(submission: Submission) -> int | None:
    """1 for the next submission a worker on its queue will take; None once it has left the queue."""
    if submission.state != Submission.State.QUEUED:
        return None
    return Submission.objects.filter(
        state=Submission.State.QUEUED,
        exercise__needs_gpu=submission.exercise.needs_gpu,
        queued_at__lte=submission.queued_at,
    ).count()


def model_variant(learner_id: int) -> int:
    """The learner's own reparameterisation of the public reference models, the same on every grading and run.

    Keyed with the secret key, so a learner cannot pick another's variant (to copy heads or directions
    found on it); the same for a learner's submissions and playground runs, so what they explore is what
    is graded.
    """
    digest = hmac.new(settings.SECRET_KEY.encode(), f"model-variant:{learner_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1
