"""Writes to course content: importing a lesson folder into the database.

Import updates rows in place rather than replacing them, so that learners' attempts (which point at
worked examples, problems and questions) survive an edit of the lesson. Rows are matched by a stable
key: the lesson by code, key terms by anchor, answer parts by key, choices by label, everything else
by its position in its section.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from courses.lesson_files import LessonFileError, read_lesson_folder
from courses.models import Course, Lesson, Phase, Question, Quiz, WorkedExample


@dataclass
class ImportReport:
    """How many rows an import created, changed and deleted; all zero when the files were already in."""

    lesson: Lesson
    created: int = 0
    changed: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return f"{self.lesson.code}: {self.created} created, {self.changed} changed, {self.deleted} deleted"


def import_lesson_folder(folder: Path | str) -> ImportReport:
    """Import a lesson folder, all or nothing; raise LessonFileError (file, line, what) on any problem."""
    return import_lesson(read_lesson_folder(folder))


@transaction.atomic
def import_lesson(data: dict[str, Any]) -> ImportReport:
    """Create or update the lesson described by ``data`` (as read by ``read_lesson_folder``)."""
    importer = _Importer()
    course = importer.save_row(
        Course.objects.filter(slug=data["course"]["slug"]).first() or Course(), data["course"], data["where"]["course"]
    )
    phase = importer.save_row(
        Phase.objects.filter(course=course, number=data["phase"]["number"]).first() or Phase(course=course),
        data["phase"],
        data["where"]["phase"],
    )
    lesson = Lesson.objects.filter(code=data["code"]).first() or Lesson()
    fields = {key: data[key] for key in ("code", "title", "status", "prerequisites", "summary", "next_steps")}
    fields["phase"] = phase
    fields["previous_lesson"] = importer.linked_lesson(data["previous"], phase)
    fields["next_lesson"] = importer.linked_lesson(data["next"], phase)
    lesson = importer.save_row(lesson, fields, data["where"]["code"])
    _set_prerequisites(lesson, data, importer)

    importer.sync(lesson.objectives, [{"text": text} for text in data["objectives"]], data["where"].get("objectives"))
    importer.sync(lesson.core_blocks, data["core_blocks"])
    importer.sync(lesson.key_terms, data["key_terms"], match="anchor")
    for example, row in importer.sync(lesson.worked_examples, data["worked_examples"]):
        importer.sync(example.parts, row["parts"], match="key")
        _sync_example_question(importer, example, row["question"])
    for problem, row in importer.sync(lesson.practice_problems, data["practice_problems"]):
        importer.sync(problem.parts, row["parts"], match="key")
        importer.sync(problem.rubric, row["rubric"])
    importer.sync(lesson.pitfalls, data["pitfalls"])
    _sync_quiz(importer, lesson, data["quiz"], data["where"].get("quiz"))
    return importer.report(lesson)


def _set_prerequisites(lesson: Lesson, data: dict[str, Any], importer: _Importer) -> None:
    codes = data["prerequisite_lessons"]
    found = {other.code: other for other in Lesson.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        path, line = data["where"]["prerequisite_lessons"]
        raise LessonFileError(path, line, f"prerequisite lesson {missing[0]!r} does not exist; import it first")
    if set(lesson.prerequisite_lessons.values_list("code", flat=True)) != set(codes):
        lesson.prerequisite_lessons.set(found.values())
        importer.changed += 1


def _sync_example_question(importer: _Importer, example: WorkedExample, row: dict[str, Any] | None) -> None:
    existing = Question.objects.filter(worked_example=example).first()
    if row is None:
        if existing:
            existing.delete()
            importer.deleted += 1
        return
    question = importer.save_row(existing or Question(worked_example=example), row, row.get("where"))
    _sync_choices(importer, question, row["choices"])


def _sync_quiz(importer: _Importer, lesson: Lesson, row: dict[str, Any] | None, where) -> None:
    existing = Quiz.objects.filter(lesson=lesson).first()
    if row is None:
        if existing:
            existing.delete()
            importer.deleted += 1
        return
    quiz = importer.save_row(existing or Quiz(lesson=lesson), row, where)
    for question, question_row in importer.sync(quiz.questions, row["questions"]):
        _sync_choices(importer, question, question_row["choices"])


def _sync_choices(importer: _Importer, question: Question, rows: list[dict[str, Any]]) -> None:
    importer.sync(question.choices, [{**row, "is_correct": row["correct"]} for row in rows], match="label")


class _Importer:
    """Saves rows only where they differ from the files, counting what it did."""

    def __init__(self) -> None:
        self.created = self.changed = self.deleted = 0

    def report(self, lesson: Lesson) -> ImportReport:
        return ImportReport(lesson, self.created, self.changed, self.deleted)

    def linked_lesson(self, link: dict[str, str] | None, phase: Phase) -> Lesson | None:
        """The lesson a previous/next link names; one not written yet becomes an upcoming placeholder."""
        if link is None:
            return None
        lesson = Lesson.objects.filter(code=link["code"]).first()
        if lesson is None:
            lesson = Lesson.objects.create(code=link["code"], title=link["title"], phase=phase, status=Lesson.Status.UPCOMING)
            self.created += 1
        return lesson

    def save_row(self, obj: models.Model, values: dict[str, Any], where=None) -> models.Model:
        """Set the model fields among ``values`` on ``obj`` (other keys are ignored), validate, save if changed."""
        changed = False
        for field in obj._meta.concrete_fields:
            if field.name not in values:
                continue
            value = values[field.name]
            if getattr(obj, field.attname) != (value.pk if isinstance(value, models.Model) else value):
                setattr(obj, field.name, value)
                changed = True
        if obj.pk is not None and not changed:
            return obj
        try:
            obj.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            path, line = where if where else ("(lesson)", None)
            raise LessonFileError(path, line, _describe_validation_error(obj, exc)) from None
        if obj.pk is None:
            self.created += 1
        else:
            self.changed += 1
        obj.save()
        return obj

    def sync(self, manager, rows: list[dict[str, Any]], where=None, match: str = "order"):
        """Make ``manager``'s rows equal ``rows`` in this order; return ``(object, row)`` pairs."""
        existing: dict[Any, models.Model] = {}
        extra = []
        for obj in manager.all():
            if getattr(obj, match) in existing:
                extra.append(obj)
            else:
                existing[getattr(obj, match)] = obj
        saved = []
        for position, row in enumerate(rows, start=1):
            values = {**row, "order": position}
            obj = existing.pop(values[match], None) or manager.model(**{manager.field.name: manager.instance})
            saved.append((self.save_row(obj, values, row.get("where", where)), row))
        for obj in [*existing.values(), *extra]:
            obj.delete()
            self.deleted += 1
        return saved


def _describe_validation_error(obj: models.Model, exc: ValidationError) -> str:
    what = obj._meta.verbose_name
    if hasattr(exc, "error_dict"):
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    else:
        problems = " ".join(exc.messages)
    return f"{what}: {problems}"
