"""Read a lesson folder into plain data, checking everything that can be checked without the database.

The result is a dict shaped like the models (see ``courses.services.import_lesson``). Every
complaint is a LessonFileError naming the file and line. Where a row later fails model validation,
its ``"where"`` entry ``(path, line)`` lets the importer name its place too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from courses.lesson_files.syntax import Entry, LessonFileError, Source, parse_toml, read_entries
from courses.models import GradedItem, Lesson, Question, Quiz
from courses.rendering import MarkdownProblem, check_markdown

LESSON_FILE = "lesson.toml"
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


@dataclass(frozen=True)
class Spec:
    """What a TOML key may hold. ``kind``: str, slug, markdown, int, number, numbers, bool, strings, table."""

    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()


def _choices(text_choices) -> tuple[str, ...]:
    return tuple(text_choices.values)


COURSE = {"slug": Spec("slug", True), "title": Spec("str", True), "description": Spec("markdown", default="")}
PHASE = {"number": Spec("int", True), "title": Spec("str", True)}
LINK = {"code": Spec("str", True), "title": Spec("str", True)}
QUIZ = {
    "title": Spec("str", default="Quiz"),
    "attempts_allowed": Spec("int", default=3),
    "shuffle_choices": Spec("bool", default=False),
    "feedback_timing": Spec("str", default=Quiz.FeedbackTiming.EACH_ATTEMPT.value, choices=_choices(Quiz.FeedbackTiming)),
}
LESSON = {
    "code": Spec("str", True),
    "title": Spec("str", True),
    "status": Spec("str", default=Lesson.Status.DRAFT.value, choices=_choices(Lesson.Status)),
    "prerequisites": Spec("markdown", default=""),
    "prerequisite_lessons": Spec("strings", default=[]),
    "objectives": Spec("strings", default=[]),
    "course": Spec("table", True),
    "phase": Spec("table", True),
    "previous": Spec("table"),
    "next": Spec("table"),
    "quiz": Spec("table"),
}
CORE_BLOCK = {"heading": Spec("str", default=""), "style": Spec("str", default="prose", choices=("prose", "callout"))}
KEY_TERM = {"term": Spec("str", True), "anchor": Spec("slug", True)}
PITFALL = {"title": Spec("str", True)}
CHOICE = {
    "label": Spec("str", True),
    "text": Spec("markdown", True),
    "correct": Spec("bool", default=False),
    "explanation": Spec("markdown", True),
}
QUESTION = {
    "kind": Spec("str", default=Question.Kind.SINGLE.value, choices=_choices(Question.Kind)),
    "choices": Spec("tables", True),
}
EXAMPLE_QUESTION = {"prompt": Spec("markdown", True), **QUESTION}
PART = {
    "key": Spec("slug", True),
    "prompt": Spec("markdown", True),
    "expected": Spec("numbers"),
    "abs_tolerance": Spec("number"),
    "rel_tolerance": Spec("number"),
    "sig_figs": Spec("int"),
    "weight": Spec("number", default=1.0),
}
RUBRIC_POINT = {"text": Spec("markdown", True), "weight": Spec("number", default=1.0)}
GRADED_ITEM = {
    "title": Spec("str", True),
    "grading": Spec("str", default=GradedItem.Grading.NONE.value, choices=_choices(GradedItem.Grading)),
    "generator": Spec("str", default=""),
    "generator_params": Spec("dict", default={}),
    "parts": Spec("tables", default=[]),
}
WORKED_EXAMPLE = {**GRADED_ITEM, "question": Spec("table")}
PRACTICE_PROBLEM = {**GRADED_ITEM, "rubric": Spec("tables", default=[])}

# Entry files: (file name, spec of the header, main Markdown field, further Markdown fields).
ENTRY_FILES = {
    "core_blocks": ("core.md", CORE_BLOCK, "body", ()),
    "key_terms": ("key-terms.md", KEY_TERM, "definition", ()),
    "worked_examples": ("worked-examples.md", WORKED_EXAMPLE, "statement", ("solution", "answer")),
    "practice_problems": ("practice-problems.md", PRACTICE_PROBLEM, "statement", ("solution", "answer")),
    "questions": ("quiz.md", QUESTION, "prompt", ()),
    "pitfalls": ("pitfalls.md", PITFALL, "body", ()),
}
# Plain Markdown files holding one lesson field each.
TEXT_FILES = {"summary": "summary.md", "next_steps": "next-steps.md"}


def read_lesson_folder(folder: Path | str) -> dict[str, Any]:
    """Parse and check a lesson folder; raise LessonFileError naming file and line on the first problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LessonFileError(folder, None, "not a folder; a lesson is a folder holding lesson.toml and Markdown files")
    path = folder / LESSON_FILE
    if not path.is_file():
        raise LessonFileError(path, None, "missing: every lesson folder needs a lesson.toml")
    raw, source = parse_toml(path, path.read_text(encoding="utf-8"))
    lesson = _check(raw, LESSON, source)
    lesson["course"] = _check(lesson["course"], COURSE, source, table="course")
    lesson["phase"] = _check(lesson["phase"], PHASE, source, table="phase")
    for link in ("previous", "next"):
        if lesson[link] is not None:
            lesson[link] = _check(lesson[link], LINK, source, table=link)
    lesson["where"] = {key: (path, source.line_of(key)) for key in raw}
    for objective in lesson["objectives"]:
        _check_markdown(objective, path, source.line_of("objectives"))
    quiz_settings = lesson.pop("quiz")

    for key, (name, spec, main, named) in ENTRY_FILES.items():
        entry_path = folder / name
        entries = read_entries(entry_path, main, named) if entry_path.is_file() else []
        lesson[key] = [_entry(entry, spec, main, named) for entry in entries]
    for key, name in TEXT_FILES.items():
        text_path = folder / name
        lesson[key] = _markdown_file(text_path) if text_path.is_file() else ""

    questions = lesson.pop("questions")
    if questions and quiz_settings is None:
        quiz_settings = {}
    lesson["quiz"] = None
    if quiz_settings is not None:
        lesson["quiz"] = {**_check(quiz_settings, QUIZ, source, table="quiz"), "questions": questions}
    _check_unique(lesson["key_terms"], "anchor", "key term anchor")
    return lesson


def _markdown_file(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    text = raw.strip("\n").rstrip()
    _check_markdown(text, path, 1 + len(raw) - len(raw.lstrip("\n")))
    return text


def _check_markdown(text: str, path: Path, first_line: int) -> None:
    try:
        check_markdown(text)
    except MarkdownProblem as problem:
        raise LessonFileError(path, first_line + problem.line - 1, str(problem)) from None


def _entry(entry: Entry, spec: dict[str, Spec], main: str, named: tuple[str, ...]) -> dict[str, Any]:
    data = _check(entry.header, spec, entry.source)
    if not entry.fields.get(main):
        raise entry.source.error(f"this entry has no {main}: write it as Markdown after the closing '+++'")
    for name in (main, *named):
        text = entry.fields.get(name, "")
        _check_markdown(text, entry.source.path, entry.field_lines.get(name, entry.source.first_line))
        data[name] = text
    source = entry.source
    data["where"] = (source.path, source.first_line - 1)
    data["source"] = source
    if "choices" in data:
        data["choices"] = _choice_list(data["choices"], source, "choices")
    if data.get("question") is not None:
        question = _check(data["question"], EXAMPLE_QUESTION, source, table="question")
        question["choices"] = _choice_list(question["choices"], source, "question.choices")
        question["where"] = (source.path, source.line_of(table="question"))
        data["question"] = question
    if "parts" in data:
        data["parts"] = [_part(part, source, n, has_generator=bool(data["generator"])) for n, part in enumerate(data["parts"])]
        _check_unique(data["parts"], "key", "part key")
    if "rubric" in data:
        data["rubric"] = [_check(point, RUBRIC_POINT, source, table="rubric", index=n) for n, point in enumerate(data["rubric"])]
    if "grading" in data:
        _check_grading(data, source)
    return data


def _choice_list(raw: list[dict], source: Source, table: str) -> list[dict[str, Any]]:
    choices = []
    for n, choice in enumerate(raw):
        choices.append({**_check(choice, CHOICE, source, table=table, index=n), "where": (source.path, source.line_of(table=table, index=n))})
    _check_unique(choices, "label", "choice label")
    if not any(choice["correct"] for choice in choices):
        raise source.error("no choice is marked correct = true", table=table)
    return choices


def _part(raw: dict[str, Any], source: Source, index: int, has_generator: bool) -> dict[str, Any]:
    part = _check(raw, PART, source, table="parts", index=index)
    part["where"] = (source.path, source.line_of(table="parts", index=index))
    if part["expected"] is None and not has_generator:
        raise source.error(
            f"part {part['key']!r} needs 'expected' (or the item needs a generator)", key="key", table="parts", index=index
        )
    if part["abs_tolerance"] is None and part["rel_tolerance"] is None and part["sig_figs"] is None:
        raise source.error(
            f"part {part['key']!r} needs abs_tolerance, rel_tolerance or sig_figs", key="key", table="parts", index=index
        )
    return part


def _check_grading(item: dict[str, Any], source: Source) -> None:
    """A graded item carries exactly the configuration its kind of grading uses."""
    grading = item["grading"]
    needs = {"numeric": "parts", "choice": "question", "self": "rubric"}
    for kind, key in needs.items():
        present = bool(item.get(key))
        if grading == kind and not present:
            raise source.error(f"grading = {kind!r} needs {_describe(key)}", key="grading")
        if grading != kind and present:
            raise source.error(f"{_describe(key)} given, but grading = {grading!r} (use {kind!r})", key="grading")


def _describe(key: str) -> str:
    return {"parts": "[[parts]] answer boxes", "question": "a [question] with choices", "rubric": "[[rubric]] points"}[key]


def _check_unique(rows: list[dict[str, Any]], key: str, what: str) -> None:
    seen = set()
    for row in rows:
        if row[key] in seen:
            path, line = row["where"]
            if "source" in row:
                line = row["source"].line_of(key)
            raise LessonFileError(path, line, f"{what} {row[key]!r} is used twice")
        seen.add(row[key])


def _check(raw: Any, spec: dict[str, Spec], source: Source, table: str | None = None, index: int = 0) -> dict[str, Any]:
    """Check a TOML table against ``spec``; return it with defaults filled in."""
    where = f"[{table}]" if table else "this table"
    if not isinstance(raw, dict):
        raise source.error(f"{table} must be a table", key=table)
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        raise source.error(
            f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(spec)})", key=unknown[0], table=table, index=index
        )
    data = {}
    for key, rule in spec.items():
        if key not in raw:
            if rule.required:
                raise source.error(f"{where} is missing the required key {key!r}", table=table, index=index)
            data[key] = rule.default.copy() if isinstance(rule.default, (list, dict)) else rule.default
            continue
        value = raw[key]
        problem = _type_problem(rule, value)
        if problem:
            raise source.error(f"{key} {problem}, got {value!r}", key=key, table=table, index=index)
        if rule.kind == "markdown":
            try:
                check_markdown(value)
            except MarkdownProblem as markdown_problem:
                raise source.error(f"{key}: {markdown_problem}", key=key, table=table, index=index) from None
        data[key] = value
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_problem(rule: Spec, value: Any) -> str | None:
    kind = rule.kind
    if kind in ("str", "markdown", "slug") and not isinstance(value, str):
        return "must be a string"
    if kind == "slug" and not SLUG.match(value):
        return "must use only letters, digits, '-' and '_'"
    if kind == "str" and rule.choices and value not in rule.choices:
        return f"must be one of {', '.join(rule.choices)}"
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        return "must be a whole number ≥ 0"
    if kind == "number" and not _is_number(value):
        return "must be a number"
    if kind == "numbers" and not (_is_number(value) or (isinstance(value, list) and value and all(map(_is_number, value)))):
        return "must be a number or a list of numbers"
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "strings" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return "must be a list of strings"
    if kind in ("table", "dict") and not isinstance(value, dict):
        return "must be a table"
    if kind == "tables" and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
        return "must be an array of tables, written [[...]]"
    return None
