"""Write a lesson from the database as a lesson folder, in the form ``read_lesson_folder`` reads.

Keys holding their default are left out, so exported files stay as short as hand-written ones and
a lesson authored in the admin can be committed and reviewed like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from courses.lesson_files.reader import (
    CHOICE,
    CORE_BLOCK,
    COURSE,
    ENTRY_FILES,
    EXAMPLE_QUESTION,
    KEY_TERM,
    LESSON,
    LESSON_FILE,
    LINK,
    PART,
    PHASE,
    PITFALL,
    PRACTICE_PROBLEM,
    QUESTION,
    QUIZ,
    RUBRIC_POINT,
    TEXT_FILES,
    WORKED_EXAMPLE,
    Spec,
)
from courses.lesson_files.syntax import toml_table, write_entries
from courses.models import Choice, GradedItem, Lesson, Question


def write_lesson_folder(lesson: Lesson, folder: Path | str) -> list[Path]:
    """Write ``lesson`` into ``folder`` (created if needed); return the files written.

    Section files of the format that the lesson leaves empty are removed, so that re-importing the
    folder gives back exactly this lesson.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {LESSON_FILE: _lesson_toml(lesson)}
    sections = {
        "core_blocks": [(_header(b, CORE_BLOCK), {"body": b.body}) for b in lesson.core_blocks.all()],
        "key_terms": [(_header(t, KEY_TERM), {"definition": t.definition}) for t in lesson.key_terms.all()],
        "worked_examples": [_graded_item(e, WORKED_EXAMPLE) for e in lesson.worked_examples.all()],
        "practice_problems": [_graded_item(p, PRACTICE_PROBLEM) for p in lesson.practice_problems.all()],
        "questions": _quiz_questions(lesson),
        "pitfalls": [(_header(p, PITFALL), {"body": p.body}) for p in lesson.pitfalls.all()],
    }
    for key, entries in sections.items():
        name, _spec, main, _named = ENTRY_FILES[key]
        files[name] = write_entries(entries, main) if entries else None
    for key, name in TEXT_FILES.items():
        text = getattr(lesson, key)
        files[name] = text + "\n" if text else None

    written = []
    for name, text in files.items():
        path = folder / name
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _header(values: Any, spec: dict[str, Spec]) -> dict[str, Any]:
    """The keys of ``spec`` read from a model instance or dict, leaving out those at their default."""
    header = {}
    for key, rule in spec.items():
        value = values.get(key) if isinstance(values, dict) else getattr(values, key, None)
        if rule.required or (value is not None and value != rule.default):
            header[key] = value
    return header


def _lesson_toml(lesson: Lesson) -> str:
    values = {
        "code": lesson.code,
        "title": lesson.title,
        "status": lesson.status,
        "prerequisites": lesson.prerequisites,
        "prerequisite_lessons": sorted(lesson.prerequisite_lessons.values_list("code", flat=True)),
        "objectives": [o.text for o in lesson.objectives.all()],
    }
    header = _header(values, {k: v for k, v in LESSON.items() if v.kind != "table"})
    header["course"] = _header(lesson.phase.course, COURSE)
    header["phase"] = _header(lesson.phase, PHASE)
    for key, linked in (("previous", lesson.previous_lesson), ("next", lesson.next_lesson)):
        if linked is not None:
            header[key] = _header(linked, LINK)
    quiz = getattr(lesson, "quiz", None)
    if quiz is not None:
        header["quiz"] = _header(quiz, QUIZ)
    return toml_table(header) + "\n"


def _graded_item(item: GradedItem, spec: dict[str, Spec]) -> tuple[dict[str, Any], dict[str, str]]:
    header = _header(item, {k: v for k, v in spec.items() if v.kind not in ("tables", "table")})
    parts = [_header(part, PART) for part in item.parts.all()]
    if parts:
        header["parts"] = parts
    question = Question.objects.filter(worked_example=item).first() if spec is WORKED_EXAMPLE else None
    if question is not None:
        header["question"] = {**_header(question, {k: v for k, v in EXAMPLE_QUESTION.items() if k != "choices"}),
                              "choices": _choices(question)}
    if spec is PRACTICE_PROBLEM:
        rubric = [_header(point, RUBRIC_POINT) for point in item.rubric.all()]
        if rubric:
            header["rubric"] = rubric
    return header, {"statement": item.statement, "solution": item.solution, "answer": item.answer}


def _quiz_questions(lesson: Lesson) -> list[tuple[dict[str, Any], dict[str, str]]]:
    quiz = getattr(lesson, "quiz", None)
    if quiz is None:
        return []
    return [
        ({**_header(q, {k: v for k, v in QUESTION.items() if k != "choices"}), "choices": _choices(q)}, {"prompt": q.prompt})
        for q in quiz.questions.all()
    ]


def _choices(question: Question) -> list[dict[str, Any]]:
    return [_header(_choice_values(choice), CHOICE) for choice in question.choices.all()]


def _choice_values(choice: Choice) -> dict[str, Any]:
    return {"label": choice.label, "text": choice.text, "correct": choice.is_correct, "explanation": choice.explanation}
