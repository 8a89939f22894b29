"""Code exercises and their submissions, with the event history of every submission.

A ``CodeExercise`` names an exercise kind (``workers.exercises``) and holds its configuration and
sandbox limits. A ``Submission`` is one learner's code for one exercise on its way through the queue:
queued → running → graded | failed | rejected | error. Every change of state is a ``SubmissionEvent``,
so an operator can read the whole history of any submission.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pydantic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from workers.exercises.registry import get_kind, kind_choices

__all__ = ["CodeExercise", "PlaygroundRun", "Submission", "SubmissionEvent"]

#: Longest wall-clock limit an exercise may set; the broker's visibility timeout must exceed it.
MAX_WALL_SECONDS = 600


class CodeExercise(models.Model):
    """A code exercise: what the learner reads and writes, and how the worker grades it."""

    lesson = models.ForeignKey("courses.Lesson", on_delete=models.CASCADE, related_name="code_exercises")
    order = models.PositiveIntegerField(default=0, help_text="Position among the lesson's exercises.")
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    statement = models.TextField(help_text="Markdown with $…$ and $$…$$ math.")
    kind = models.CharField(max_length=60, choices=kind_choices, help_text="The grader plug-in.")
    config = models.JSONField(default=dict, blank=True, help_text="Validated against the kind's configuration.")
    starter_code = models.TextField(blank=True, help_text="Blank means the kind's starter code.")
    max_score = models.FloatField(default=10.0, validators=[MinValueValidator(0.0)])
    needs_gpu = models.BooleanField(default=False, help_text="Send to the gpu queue (it still runs on CPU-only set-ups).")
    wall_seconds = models.FloatField(
        default=20.0, validators=[MinValueValidator(0.1), MaxValueValidator(MAX_WALL_SECONDS)]
    )
    cpu_seconds = models.FloatField(default=20.0, validators=[MinValueValidator(0.1)])
    memory_mb = models.PositiveIntegerField(default=2048, validators=[MinValueValidator(64)])
    max_output_kb = models.PositiveIntegerField(default=256)
    is_published = models.BooleanField(default=False, help_text="Requires the reference solution to score full marks.")
    reference_checked = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Fingerprint of the kind and configuration the reference solution last scored full marks on.",
    )

    class Meta:
        ordering = ["lesson", "order", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("grader:exercise", kwargs={"slug": self.slug})

    @property
    def queue(self) -> str:
        return "gpu" if self.needs_gpu else "cpu"

    def grader(self):
        """The configured exercise kind instance that grades this exercise."""
        return get_kind(self.kind)(self.config)

    def effective_starter_code(self) -> str:
        return self.starter_code or get_kind(self.kind).starter_code

    def grading_fingerprint(self) -> str:
        """Changes whenever what the reference solution was checked against changes."""
        data = json.dumps([self.kind, self.config], sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()

    @property
    def reference_is_current(self) -> bool:
        return self.reference_checked == self.grading_fingerprint()

    def clean(self) -> None:
        try:
            kind = get_kind(self.kind)
        except LookupError as error:
            raise ValidationError({"kind": str(error)}) from None
        try:
            kind.Config.model_validate(self.config)
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in error.errors()
            )
            raise ValidationError({"config": f"Not a valid {kind.slug} configuration — {problems}"}) from None
        if self.is_published and not self.reference_is_current:
            raise ValidationError(
                {"is_published": "Grade the reference solution first (admin action); it must score full marks "
                 "with this kind and configuration."}
            )


class Submission(models.Model):
    """One learner's code for one exercise, from the queue to its verdict."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        GRADED = "graded", "Graded"
        FAILED = "failed", "Failed (the code raised or returned something unusable)"
        REJECTED = "rejected", "Rejected (a limit was hit)"
        ERROR = "error", "Error (ours, not the learner's)"

    FINAL_STATES = (State.GRADED, State.FAILED, State.REJECTED, State.ERROR)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="code_submissions")
    exercise = models.ForeignKey(CodeExercise, on_delete=models.CASCADE, related_name="submissions")
    attempt = models.PositiveIntegerField(help_text="1 for the learner's first submission to this exercise.")
    code = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)

    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(help_text="When it was last sent to the queue.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last began grading it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    sends = models.PositiveIntegerField(default=1, help_text="Messages sent to the broker for it (sweeper resends count).")
    deliveries = models.PositiveIntegerField(default=0, help_text="Times a worker began grading it.")
    worker = models.CharField(max_length=200, blank=True, help_text="Celery node name of the last worker.")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=20, blank=True, help_text="cuda or cpu, as chosen by the worker.")

    score = models.FloatField(null=True, blank=True, help_text="Out of the exercise's max score.")
    max_score = models.FloatField(null=True, blank=True)
    feedback = models.TextField(blank=True, help_text="Markdown for the learner; for failures, what went wrong and where.")
    checks = models.JSONField(default=dict, blank=True, help_text="name → {passed, value, threshold, explanation}")
    metrics = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True, help_text="What the learner's code printed (truncated).")
    resources = models.JSONField(default=dict, blank=True, help_text="Time, memory and output the sandbox measured.")
    seed = models.BigIntegerField(
        null=True, blank=True,
        help_text="The grading's master seed (random state of the runs, hidden models' reparameterisations): "
        "grade_file --seed reproduces the grading.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "exercise", "attempt"], name="unique_submission_attempt"),
        ]
        indexes = [
            models.Index(fields=["state", "queued_at"], name="submission_state_queued"),
            models.Index(fields=["learner", "exercise", "-created_at"], name="submission_learner_exercise"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} · {self.exercise.slug} #{self.attempt} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class SubmissionEvent(models.Model):
    """One change of a submission's state (or a resend that kept it), as it happened."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=10, choices=Submission.State.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=Submission.State.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state}"


class PlaygroundRun(models.Model):
    """That a learner started a playground run, for the per-learner limits (what it produced lives in Redis).

    A run counts as pending until the worker marks it finished, or ``PLAYGROUND_PENDING_TIMEOUT`` seconds
    after it was started (a run whose worker died does not block its learner for longer).
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playground_runs")
    exercise = models.ForeignKey(CodeExercise, on_delete=models.CASCADE, related_name="playground_runs")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["learner", "-created_at"], name="playground_learner_created")]

    def __str__(self) -> str:
        return f"{self.learner} · {self.exercise.slug} run {self.id}"
