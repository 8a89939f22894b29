"""Finds exercise kinds: every module in this package that defines an ``ExerciseKind`` subclass with a slug."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from workers.exercises.base import ExerciseKind

_NOT_KINDS = {"base", "registry", "child_side", "contract"}  # modules of the package that define no kind


@cache
def all_kinds() -> dict[str, type[ExerciseKind]]:
    import workers.exercises as package

    kinds: dict[str, type[ExerciseKind]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_KINDS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ExerciseKind) and value is not ExerciseKind:
                if getattr(value, "slug", None) and value.__module__ == module.__name__:
                    if value.slug in kinds:
                        raise RuntimeError(f"two exercise kinds use the slug {value.slug!r}")
                    kinds[value.slug] = value
    return kinds


def get_kind(slug: str) -> type[ExerciseKind]:
    try:
        return all_kinds()[slug]
    except KeyError:
        raise LookupError(f"no exercise kind {slug!r}; known kinds: {', '.join(sorted(all_kinds())) or 'none'}") from None


def kind_choices() -> list[tuple[str, str]]:
    return [(slug, kind.title) for slug, kind in sorted(all_kinds().items())]
