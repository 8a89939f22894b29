"""Finds variant generators: every module in this package that defines a ``Generator`` subclass with a slug."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError

from grader.attempts.variants.base import Generator, placeholders

_NOT_GENERATORS = {"base", "registry"}


@cache
def all_generators() -> dict[str, Generator]:
    import grader.attempts.variants as package

    generators: dict[str, Generator] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_GENERATORS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Generator) and value.__module__ == module.__name__:
                if value.slug in generators:
                    raise RuntimeError(f"two variant generators use the slug {value.slug!r}")
                generators[value.slug] = value()
    return generators


def get_generator(slug: str) -> Generator:
    try:
        return all_generators()[slug]
    except KeyError:
        known = ", ".join(sorted(all_generators())) or "none"
        raise LookupError(f"no variant generator {slug!r}; known generators: {known}") from None


def generator_choices() -> list[tuple[str, str]]:
    """For the admin's generator field: blank (same numbers for everyone) plus every generator."""
    return [("", "None: every learner sees the same numbers")] + [
        (slug, generator.title) for slug, generator in sorted(all_generators().items())
    ]


def validate_generator(
    slug: str, params: Mapping[str, Any], part_keys: set[str] | None = None, statement: str | None = None
) -> None:
    """Admin-side check: the generator exists, its parameters are its own, the parts read its outputs and the
    statement shows the numbers it draws."""
    if not slug:
        return
    try:
        generator = get_generator(slug)
    except LookupError as error:
        raise ValidationError({"generator": str(error)}) from None
    unknown = set(params) - set(generator.defaults)
    if unknown:
        raise ValidationError(
            {"generator_params": f"Unknown parameters {sorted(unknown)}; {slug} takes {sorted(generator.defaults)}."}
        )
    missing = sorted(set(generator.placeholders) - placeholders(statement)) if statement is not None else []
    if missing:
        shown = ", ".join("{{%s}}" % name for name in missing)
        raise ValidationError({"statement": f"The statement must show the learner's numbers: add {shown}."})
    if part_keys is not None and not part_keys <= set(generator.answer_keys):
        raise ValidationError(
            f"Answer parts {sorted(part_keys - set(generator.answer_keys))} are not produced by {slug}, "
            f"which produces {list(generator.answer_keys)}."
        )
