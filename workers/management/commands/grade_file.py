"""manage.py grade_file EXERCISE_SLUG FILE.py — grade a solution file exactly as a submission is graded.

Prints one JSON object (verdict, score, max_score, checks, feedback, metrics, output, resources, device).
The exit status is 0 whenever a verdict on the code was reached (graded, failed or rejected), 1 when
grading itself failed on our side.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from grader.models import CodeExercise
from workers.grading import Verdict, grade_exercise


class Command(BaseCommand):
    help = "Grades a solution file for a code exercise through the sandbox and the exercise's grader; prints JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("exercise_slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, exercise_slug: str, file: Path, **options) -> None:
        exercise = CodeExercise.objects.filter(slug=exercise_slug).first()
        if exercise is None:
            known = ", ".join(CodeExercise.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no code exercise {exercise_slug!r}; known exercises: {known}")
        try:
            code = file.read_text()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        outcome = grade_exercise(exercise, code)
        self.stdout.write(json.dumps(outcome.as_dict(), indent=2, default=str))
        if outcome.verdict == Verdict.ERROR:
            raise SystemExit(1)
