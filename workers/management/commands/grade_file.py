"""manage.py grade_file EXERCISE_SLUG FILE.py — grade a solution file exactly as a submission is graded.

Prints one JSON object (verdict, score, max_score, checks, feedback, metrics, output, resources, device, seed).
``--learner USERNAME`` grades on that learner's own variant of the public models, and ``--seed N`` reuses a
grading's master seed (a submission's ``seed``), so together they reproduce that submission's grading.
The exit status is 0 whenever a verdict on the code was reached (graded, failed or rejected), 1 when
grading itself failed on our side.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from grader.models import CodeExercise
from grader.submissions.selectors import model_variant
from workers.grading import Verdict, grade_exercise


class Command(BaseCommand):
    help = "Grades a solution file for a code exercise through the sandbox and the exercise's grader; prints JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("exercise_slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--learner", help="grade on this learner's variant of the public models (username)")
        parser.add_argument("--seed", type=int, help="the grading's master seed, e.g. a submission's seed")

    def handle(self, *args, exercise_slug: str, file: Path, learner: str | None, seed: int | None, **options) -> None:
        exercise = CodeExercise.objects.filter(slug=exercise_slug).first()
        if exercise is None:
            known = ", ".join(CodeExercise.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no code exercise {exercise_slug!r}; known exercises: {known}")
        try:
            code = file.read_text()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        variant = None
        if learner is not None:
            user = get_user_model().objects.filter(username=learner).first()
            if user is None:
                raise CommandError(f"no user {learner!r}")
            variant = model_variant(user.pk)
        outcome = grade_exercise(exercise, code, variant=variant, seed=seed)
        self.stdout.write(json.dumps(outcome.as_dict(), indent=2, default=str))
        if outcome.verdict == Verdict.ERROR:
            raise SystemExit(1)
