"""manage.py import_exercises FILE.toml [--publish] — a lesson's code exercises from a file (see grader.submissions.exercise_files)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grader.submissions.exercise_files import ExerciseFileError, import_exercises
from grader.submissions.services import check_reference_solution


class Command(BaseCommand):
    help = "Creates or updates a lesson's code exercises from a TOML file; --publish grades each reference solution first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--publish", action="store_true",
            help="grade each kind's reference solution in the sandbox and publish the exercises that score full marks",
        )

    def handle(self, *args, path: Path, publish: bool, **options) -> None:
        try:
            lesson, report = import_exercises(path)
        except (ExerciseFileError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{lesson.code}: {len(report.created)} exercises created, {len(report.updated)} updated")
        if not publish:
            return
        for exercise in lesson.code_exercises.all():
            if exercise.reference_is_current and exercise.is_published:
                self.stdout.write(f"  {exercise.slug}: published (reference already checked)")
                continue
            outcome = check_reference_solution(exercise, publish=True)
            if exercise.is_published:
                self.stdout.write(f"  {exercise.slug}: reference scored full marks; published")
            else:
                self.stderr.write(f"  {exercise.slug}: NOT published, reference {outcome.verdict}: {outcome.feedback[:300]}")
