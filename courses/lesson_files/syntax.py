"""The two file syntaxes of a lesson folder: TOML, and Markdown "entry files".

An entry file is a list of entries. Each entry opens with a TOML header between two ``+++`` lines,
then its main Markdown text; further Markdown fields of the same entry start with ``+++ NAME``::

    +++
    title = "Finding a feature direction"
    +++
    The statement, in Markdown.

    +++ solution
    The worked solution.

Everything here keeps line numbers, so that any later complaint can name the line it is about.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FENCE = "+++"
_TOML_PLACE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)")
_NAMED_FENCE = re.compile(r"^\+\+\+ +([a-z_]+) *$")


class LessonFileError(Exception):
    """A lesson file that cannot be imported, with the place to fix."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {message}")


@dataclass
class Source:
    """Where a TOML table came from: its file, and its lines for finding a key's line number."""

    path: Path
    lines: list[str]
    first_line: int  # 1-based line number of lines[0]

    def error(self, message: str, key: str | None = None, table: str | None = None, index: int = 0) -> LessonFileError:
        return LessonFileError(self.path, self.line_of(key, table, index), message)

    def line_of(self, key: str | None = None, table: str | None = None, index: int = 0) -> int:
        """The line of ``key`` (inside the ``index``-th ``[table]``/``[[table]]`` when given), else the first line."""
        start, end = 0, len(self.lines)
        if table is not None:
            headers = [
                i for i, text in enumerate(self.lines)
                if text.strip() in (f"[{table}]", f"[[{table}]]")
            ]
            if index < len(headers):
                start = headers[index]
                end = next((i for i in range(start + 1, end) if self.lines[i].lstrip().startswith("[")), end)
        if key is not None:
            full = re.escape(f"{table}.{key}" if table else key)
            pattern = re.compile(rf"^\s*({re.escape(key)}\s*=|\[\[?{full}\]\]?\s*$)")
            for i in range(start, len(self.lines)):
                if pattern.match(self.lines[i]) and (i < end or self.lines[i].lstrip().startswith("[")):
                    return self.first_line + i
        return self.first_line + start


@dataclass
class Entry:
    """One entry of an entry file: its parsed header and its Markdown fields by name."""

    header: dict[str, Any]
    source: Source  # the header's lines
    fields: dict[str, str] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)  # 1-based line where each field's text starts


def parse_toml(path: Path, text: str, first_line: int = 1) -> tuple[dict[str, Any], Source]:
    lines = text.split("\n")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's message ends "(at line L, column C)" (or "(at end of document)"), lines counted from 1.
        match = _TOML_PLACE.search(str(exc))
        message = _TOML_PLACE.sub("", str(exc)).strip()
        line = first_line + int(match.group(1)) - 1 if match else first_line + len(lines) - 1
        column = f" (column {match.group(2)})" if match else ""
        raise LessonFileError(path, line, f"invalid TOML: {message}{column}") from None
    return data, Source(path, lines, first_line)


def read_entries(path: Path, main_field: str, named_fields: tuple[str, ...]) -> list[Entry]:
    """Split an entry file into entries, checking the fences and field names."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    entries: list[Entry] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line:
            i += 1
            continue
        if line != FENCE:
            raise LessonFileError(path, i + 1, f"expected a line '{FENCE}' opening an entry's header, found {line!r}")
        try:
            close = next(j for j in range(i + 1, len(lines)) if lines[j].rstrip() == FENCE)
        except StopIteration:
            raise LessonFileError(path, i + 1, f"this header is never closed: add a line '{FENCE}' after it") from None
        header, source = parse_toml(path, "\n".join(lines[i + 1:close]), first_line=i + 2)
        entry = Entry(header, source)
        i = _read_fields(path, lines, close + 1, entry, main_field, named_fields)
        entries.append(entry)
    return entries


def _read_fields(path: Path, lines: list[str], i: int, entry: Entry, main: str, named: tuple[str, ...]) -> int:
    """Read an entry's Markdown fields from line index ``i``; return the index of the next entry's fence."""
    name, start = main, i
    while True:
        at_end = i >= len(lines)
        line = "" if at_end else lines[i].rstrip()
        match = None if at_end else _NAMED_FENCE.match(line)
        if at_end or line == FENCE or match:
            body = "\n".join(lines[start:i]).strip("\n").rstrip()
            if body or name != main:
                entry.fields[name] = body
                entry.field_lines[name] = start + 1 + _leading_blank_lines(lines[start:i])
            if at_end or line == FENCE:
                return i
            name, start = match.group(1), i + 1
            if name == main or name not in named:
                allowed = ", ".join(named) or "none here"
                raise LessonFileError(path, i + 1, f"unknown field '+++ {name}' (allowed: {allowed})")
            if name in entry.fields:
                raise LessonFileError(path, i + 1, f"field '{name}' appears twice in this entry")
        i += 1


def _leading_blank_lines(lines: list[str]) -> int:
    return next((n for n, text in enumerate(lines) if text.strip()), 0)


# --- writing ------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A TOML literal for ``value``, preferring forms that keep LaTeX backslashes readable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold {value}")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        if value and all(isinstance(v, str) for v in value) and sum(map(len, items)) > 60:
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_string(text: str) -> str:
    if "\n" not in text and "'" not in text:
        return f"'{text}'"
    if "'''" not in text and not text.endswith("'") and "\r" not in text:
        return f"'''\n{text}'''" if "\n" in text else f"'''{text}'''"
    return json.dumps(text, ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_table(values: dict[str, Any], name: str | None = None, array: bool = False) -> str:
    """A TOML table: plain keys first, then sub-tables (dicts) and arrays of tables (lists of dicts)."""
    out = [] if name is None else [f"[[{name}]]" if array else f"[{name}]"]
    nested = []
    for key, value in values.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            nested.extend(toml_table(v, _join(name, key), array=True) for v in value)
        elif isinstance(value, dict) and key not in INLINE_TABLES:
            nested.append(toml_table(value, _join(name, key)))
        else:
            out.append(f"{_toml_key(key)} = {toml_value(value)}")
    return "\n\n".join(["\n".join(out)] + nested).strip("\n")


# Dict-valued keys written inline: free-form parameters rather than structure of the format.
INLINE_TABLES = {"generator_params"}


def _join(parent: str | None, key: str) -> str:
    return key if parent is None else f"{parent}.{key}"


def write_entries(entries: list[tuple[dict[str, Any], dict[str, str]]], main_field: str) -> str:
    """An entry file for ``(header, fields)`` pairs; fields are written main first, then in dict order."""
    chunks = []
    for header, fields in entries:
        parts = [FENCE, toml_table(header), FENCE] if header else [FENCE, FENCE]
        text = "\n".join(p for p in parts if p)
        for name, body in fields.items():
            if not body and name != main_field:
                continue
            if any(line.startswith(FENCE) for line in body.split("\n")):
                raise ValueError(f"a line of the {name} text starts with '{FENCE}', which the lesson format reserves")
            text += ("\n" if name == main_field else f"\n\n{FENCE} {name}\n") + body
        chunks.append(text)
    return "\n\n".join(chunks) + "\n"
