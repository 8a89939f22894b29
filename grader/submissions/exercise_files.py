"""Code exercises as files: a lesson's exercises in one TOML file, imported in one transaction.

Format (see fixtures/exercises/25-01.toml)::

    lesson = "25-01"            # code of the lesson the exercises belong to

    [[exercise]]
    slug = "probe-sentiment"    # stable key: re-importing updates the exercise in place
    title = "…"
    kind = "probe-sentiment"    # an exercise kind from workers/exercises/
    statement = '''Markdown with $math$'''
    wall_seconds = 60           # optional: any CodeExercise field (limits, max_score, needs_gpu, starter_code)
    [exercise.config]           # optional: validated against the kind's configuration
    n_features = 5

A bad file changes nothing, and its error names the file, the line of the exercise and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from courses.models import Lesson
from grader.models import CodeExercise

OPTIONAL_FIELDS = {
    "config", "starter_code", "max_score", "needs_gpu", "wall_seconds", "cpu_seconds", "memory_mb", "max_output_kb"
}
REQUIRED_FIELDS = {"slug", "title", "kind", "statement"}


class ExerciseFileError(Exception):
    """What is wrong with an exercise file, and where; shown to the instructor as is."""


@dataclass
class ImportReport:
    created: list[str]
    updated: list[str]


def _exercise_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[exercise\]\]", line)]


def import_exercises(path: Path) -> tuple[Lesson, ImportReport]:
    """Creates or updates the exercises of ``path`` (keyed by slug). Publishing is a separate, checked step."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExerciseFileError(f"{path}: not valid TOML: {error}") from None
    lines = _exercise_lines(text)
    try:
        lesson = Lesson.objects.get(code=data.get("lesson"))
    except Lesson.DoesNotExist:
        raise ExerciseFileError(
            f"{path}, line 1: lesson = {data.get('lesson')!r} is not in the database; import the lesson first"
        ) from None
    report = ImportReport(created=[], updated=[])
    with transaction.atomic():
        for index, entry in enumerate(data.get("exercise", [])):
            where = f"{path}, line {lines[index] if index < len(lines) else '?'} (exercise {entry.get('slug', index + 1)!r})"
            missing = REQUIRED_FIELDS - entry.keys()
            unknown = entry.keys() - REQUIRED_FIELDS - OPTIONAL_FIELDS
            if missing or unknown:
                problems = [f"missing {', '.join(sorted(missing))}"] if missing else []
                problems += [f"unknown field {', '.join(sorted(unknown))} (allowed: "
                             f"{', '.join(sorted(REQUIRED_FIELDS | OPTIONAL_FIELDS))})"] if unknown else []
                raise ExerciseFileError(f"{where}: {'; '.join(problems)}")
            exercise = CodeExercise.objects.filter(slug=entry["slug"]).first() or CodeExercise(slug=entry["slug"])
            created = exercise.pk is None
            fields = {"config": {}, **{k: v for k, v in entry.items() if k != "slug"}}
            for name, value in fields.items():
                setattr(exercise, name, value)
            exercise.lesson, exercise.order = lesson, index
            if not exercise.reference_is_current:
                exercise.is_published = False
            try:
                exercise.full_clean()
            except ValidationError as error:
                problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
                raise ExerciseFileError(f"{where}: {problems}") from None
            exercise.save()
            (report.created if created else report.updated).append(exercise.slug)
    return lesson, report
