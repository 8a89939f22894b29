"""What a variant generator is: a trusted plug-in that draws a problem's numbers and solves them.

A generator lives in its own module in this package. Instructors pick one by ``slug`` in the admin
(``GradedItem.generator``) and may override its ``defaults`` in ``GradedItem.generator_params``.
The statement's ``{{name}}`` placeholders are filled from :attr:`Variant.values`; each answer part
reads its expected value from :attr:`Variant.answers` under the part's ``key``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

Number = float | list[float]

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass(frozen=True)
class Variant:
    values: dict[str, str]
    answers: dict[str, Number] = field(default_factory=dict)

    def fill(self, text: str) -> str:
        """Replace ``{{name}}`` with the learner's numbers; unknown names are left for the instructor to see."""
        return _PLACEHOLDER.sub(lambda match: self.values.get(match[1], match[0]), text)


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def show(value: Number) -> str:
    """How a drawn number appears in a statement: no float noise, vectors in brackets."""
    if isinstance(value, list):
        return "[" + ", ".join(show(component) for component in value) + "]"
    return f"{value + 0.0:.6g}"  # + 0.0 turns -0.0 into 0.0


class Generator:
    slug: ClassVar[str]
    title: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}
    #: answer keys this generator produces; answer parts must use these keys
    answer_keys: ClassVar[tuple[str, ...]] = ()
    #: values the statement must show as {{name}}, or learners would be graded on numbers they never saw
    placeholders: ClassVar[tuple[str, ...]] = ()

    def generate(self, rng: random.Random, params: Mapping[str, Any]) -> Variant:
        raise NotImplementedError

    def variant(self, rng: random.Random, overrides: Mapping[str, Any] | None = None) -> Variant:
        return self.generate(rng, {**self.defaults, **(overrides or {})})
