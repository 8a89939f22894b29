"""The exercise-kind contract: what a kind expects from its child, declared once, validated in one place.

Everything a grading child sends was produced in a process that ran learner code, so the parent treats
it as hostile: any type, any dtype, NaN, 1e308, integers of hundreds of digits, big-endian or object
arrays, 15 MiB strings, deep nesting. A kind declares what it expects as a tree of specs
(``ExerciseKind.outputs``) and ``validate`` returns cleaned values (native float64 or int64 arrays,
Python numbers, bounded text) or raises ``InvalidOutput``, whose message names the field, what was
expected and what was received. The description of what was received is composed here, from a fixed
vocabulary and numbers the parent formats (type, dtype, shape, length, one offending value); learner
text is never echoed. Kinds grade only what this returns and never convert or check types themselves.

Validation is idempotent (cleaned values validate to themselves), never recurses deeper than the spec
(or ``Json``'s own bound), and every check on a value runs before any cast that could overflow or
truncate it.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

UNUSABLE = "$unusable"  # the child's marker for a learner value it could not send: {"$unusable": "a str"}
DEFAULT_MAX_ABS = 1e6  # magnitudes that keep sums and products of a few thousand values exact enough in float64
_JSON_INTEGERS = 2**63  # what the sandbox wire carries, and what converts to float without overflow
_EXACT_INTEGERS = 2**53  # integers float64 holds exactly; an int64 cast never wraps below it
_DESCRIPTION = re.compile(r"[A-Za-z0-9 ,.\[\]_-]{1,60}")  # what a marker may say; anything else is "something else"
_DTYPE_WORDS = {"b": "bool", "i": "int", "u": "uint", "f": "float", "c": "complex", "M": "datetime", "m": "timedelta",
                "S": "bytes", "U": "text", "V": "raw or structured", "O": "object"}


class InvalidOutput(Exception):
    """The learner's code returned something the grader cannot use (wrong type, shape, NaN).

    The message is shown to the learner as is, so it says what was expected and what was received,
    e.g. "direction: expected a tensor of shape [64], got shape [64, 1]".
    """


def validate(spec: Spec, value: Any) -> Any:
    """``value`` cleaned by ``spec``; ``InvalidOutput`` names the first field that does not meet it."""
    return spec.clean(value, "")


# --- what was received, in the parent's words ---


def describe(value: Any) -> str:
    """What ``value`` is, for a message: a fixed vocabulary and parent-formatted numbers, never learner text."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int):
        return f"the integer {value}" if abs(value) < 10**15 else f"an integer of {_digits(value)} digits"
    if isinstance(value, float):
        return f"the number {shown_number(value)}"
    if isinstance(value, str):
        return f"text of {len(value):,} characters"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value):,} items"
    if isinstance(value, np.ndarray):
        return f"{_article(dtype_words(value.dtype))} array of shape {_shape(value.shape)}"
    if isinstance(value, dict):
        marker = value.get(UNUSABLE) if len(value) == 1 else None
        if isinstance(marker, str):
            return marker if _DESCRIPTION.fullmatch(marker) else "something else"
        return f"a dict with {len(value):,} fields"
    return "something else"


def dtype_words(dtype: np.dtype) -> str:
    """``float32``, ``big-endian float64``, ``object``...: names chosen here (a structured dtype's own
    string would quote the learner's field names)."""
    words = _DTYPE_WORDS.get(dtype.kind, "unknown")
    if dtype.kind in "iufc":
        words += str(dtype.itemsize * 8)
    if not dtype.isnative:
        words = f"{'big' if dtype.byteorder == '>' else 'little'}-endian {words}"
    return words


def shown_number(value: float | int) -> str:
    """A number from learner code as feedback shows it: six significant digits, NaN and infinities by name."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"an integer of {_digits(value)} digits"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "-infinity"
    return f"{value:.6g}"


_REPR = reprlib.Repr()  # Python 3.11 sets its bounds as attributes
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxstring, _REPR.maxlong, _REPR.maxother = (
    3, 6, 6, 4, 60, 30, 30)


def plain_value(value: Any, limit: int = 120) -> str:
    """Learner data (``Json``-validated) for a check's value: a bounded repr on one line, cut with an ellipsis."""
    return _one_line(_REPR.repr(value), limit)


def shown_value(value: Any, limit: int = 120) -> str:
    """Learner data as Markdown feedback quotes it: ``plain_value`` in a code span it cannot end."""
    return f"`{plain_value(value, limit).replace('`', chr(39))}`"


def shown_text(text: str, limit: int = 120) -> str:
    """Learner text (an exception message) as Markdown feedback quotes it: one line, at most ``limit``
    characters, in a code span it cannot end."""
    return f"`{_one_line(text, limit).replace('`', chr(39))}`"


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text[: limit * 2].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _digits(value: int) -> int:
    return max(1, int(abs(value).bit_length() * math.log10(2)) + 1)


def _article(words: str) -> str:
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def _shape(shape: tuple[int | str, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _first(mask: np.ndarray) -> tuple[int, ...]:
    """The first index where ``mask`` holds."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _fail(where: str, message: str) -> InvalidOutput:
    return InvalidOutput(f"{where}: {message}" if where else message[0].upper() + message[1:])


# --- specs ---


class Spec:
    """What one value must be. ``clean`` returns the cleaned value or raises ``InvalidOutput`` at ``where``."""

    def expected(self) -> str:
        raise NotImplementedError

    def clean(self, value: Any, where: str) -> Any:
        raise NotImplementedError

    def _wrong(self, value: Any, where: str) -> InvalidOutput:
        return _fail(where, f"expected {self.expected()}, got {describe(value)}")


Dimension = int | None | tuple[int, int]  # an exact size, any size, or an inclusive range of sizes


@dataclass(frozen=True)
class Array(Spec):
    """A numpy array of real numbers in native byte order, with a shape, finite values and bounded magnitudes.

    ``dtype``: "float" accepts float and integer arrays and returns float64 (finite, each |x| ≤ ``max_abs``;
    ``max_abs=None`` only requires finite values, for kinds that compute scale-free); "int" accepts
    integer arrays and float arrays of whole numbers (2.0 is 2; 0.6 is refused, never truncated) and
    returns int64; "bool" accepts bool arrays. ``bounds`` (inclusive) are checked before any cast.
    """

    shape: tuple[Dimension, ...]
    dtype: str = "float"
    bounds: tuple[float, float] | None = None
    max_abs: float | None = DEFAULT_MAX_ABS
    what: str = "a tensor"

    def expected(self) -> str:
        return f"{self.what} of shape {self._wanted()}"

    def _wanted(self) -> str:
        sizes = ["*" if n is None else f"{n[0]}..{n[1]}" if isinstance(n, tuple) else str(n) for n in self.shape]
        return "[" + ", ".join(sizes) + "]"

    def clean(self, value: Any, where: str) -> np.ndarray:
        if not isinstance(value, np.ndarray):
            raise self._wrong(value, where)
        accepted = {"float": "fiu", "int": "iuf", "bool": "b"}[self.dtype]
        wanted = {"float": "real numbers", "int": "integers", "bool": "booleans"}[self.dtype]
        if value.dtype.kind not in accepted or value.dtype.itemsize > 8:
            raise _fail(where, f"expected {self.what} of {wanted}, got {_article(dtype_words(value.dtype))} array")
        if not value.dtype.isnative:
            raise _fail(where, f"expected {self.what} of {wanted} in native byte order (little-endian), "
                               f"got {_article(dtype_words(value.dtype))} array")
        if len(self.shape) != value.ndim or not all(_fits(want, got) for want, got in zip(self.shape, value.shape)):
            raise _fail(where, f"expected {self.expected()}, got shape {_shape(value.shape)}")
        if self.dtype == "bool":
            return value
        if value.dtype.kind == "f":
            self._check_floats(value, where)
        if value.size:
            self._check_range(value, where)
        return value.astype(np.int64 if self.dtype == "int" else np.float64)

    def _check_floats(self, value: np.ndarray, where: str) -> None:
        for bad, what in ((~np.isfinite(value), "finite values"), (value != np.floor(value), "whole numbers")):
            if what == "whole numbers" and self.dtype != "int":
                break
            if bad.any():
                first = _first(bad)
                shown = shown_number(value[first].item())
                raise _fail(where, f"expected {what}, got {shown} at index {_shape(first)} "
                                   f"({int(bad.sum()):,} of {value.size:,} values are not {what.split()[0]})")

    def _check_range(self, value: np.ndarray, where: str) -> None:
        """Bounds and magnitude, compared without a cast (no overflow for any integer or float dtype)."""
        low, high = value.min().item(), value.max().item()
        if self.bounds is not None and (low < self.bounds[0] or high > self.bounds[1]):
            raise _fail(where, f"expected values from {shown_number(self.bounds[0])} to "
                               f"{shown_number(self.bounds[1])}, got values from {shown_number(low)} to "
                               f"{shown_number(high)}")
        limit = self.max_abs if self.max_abs is not None else _EXACT_INTEGERS if self.dtype == "int" else None
        if limit is not None and (low < -limit or high > limit):
            large = (value > limit) | (value < -limit)
            raise _fail(where, f"expected values of magnitude at most {shown_number(limit)}, got "
                               f"{shown_number(max(-low, high))} ({int(large.sum()):,} of {value.size:,} values "
                               f"are larger; the first at index {_shape(_first(large))})")


def _fits(want: Dimension, got: int) -> bool:
    if want is None:
        return True
    if isinstance(want, tuple):
        return want[0] <= got <= want[1]
    return want == got


@dataclass(frozen=True)
class Number(Spec):
    """A finite real number (a Python int or float, or a one-element numeric array), within inclusive bounds.

    Returns a float, or with ``integral`` an int (whole floats such as 2.0 count; 2.5 and booleans do not).
    """

    min: float | None = None
    max: float | None = None
    integral: bool = False

    def expected(self) -> str:
        what = "a whole number" if self.integral else "a number"
        if self.min is not None and self.max is not None:
            return f"{what} from {shown_number(self.min)} to {shown_number(self.max)}"
        if self.min is not None:
            return f"{what} of at least {shown_number(self.min)}"
        if self.max is not None:
            return f"{what} of at most {shown_number(self.max)}"
        return what

    def clean(self, value: Any, where: str) -> float | int:
        number = value
        if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu" \
                and value.dtype.isnative and value.dtype.itemsize <= 8:
            number = value.item()
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise self._wrong(value, where)
        if isinstance(number, float) and not math.isfinite(number):
            raise _fail(where, f"expected {self.expected()}, got {shown_number(number)}")
        if self.integral and isinstance(number, float) and not number.is_integer():
            raise self._wrong(number, where)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise self._wrong(number, where)
        return int(number) if self.integral else float(number)


def Integer(min: int, max: int) -> Number:  # noqa: N802 - reads as a spec, like the classes
    """A whole number from ``min`` to ``max`` (inclusive), returned as an int."""
    return Number(min, max, integral=True)


@dataclass(frozen=True)
class Text(Spec):
    """A string of at most ``max_chars`` characters, matching ``pattern`` (whole) when one is given.

    ``describes`` says what the pattern means, for the message; the text itself is never quoted.
    """

    max_chars: int
    pattern: str | None = None
    describes: str = "text"

    def expected(self) -> str:
        return self.describes

    def clean(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self._wrong(value, where)
        if len(value) > self.max_chars:
            raise _fail(where, f"expected {self.describes} of at most {self.max_chars:,} characters, "
                               f"got text of {len(value):,} characters")
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            raise _fail(where, f"expected {self.describes}, got other text")
        return value


@dataclass(frozen=True)
class Record(Spec):
    """A dict with the ``fields`` (all required) and any of the ``optional`` ones, nothing else.

    A missing field is reported by its own spec as "got nothing"; optional fields absent stay absent.
    """

    fields: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)
    what: str | None = None  # how the learner knows it, e.g. 'NODE = ("blocks.L.attn.hook_z", H)'

    def expected(self) -> str:
        return self.what or f"a dict with the fields {', '.join([*self.fields, *self.optional])}"

    def clean(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict) or UNUSABLE in value:
            raise self._wrong(value, where)
        extra = [key for key in value if key not in self.fields and key not in self.optional]
        if extra:
            raise _fail(where, f"expected only the fields {', '.join([*self.fields, *self.optional])}, "
                               f"got {len(extra)} other field(s)")
        cleaned = {name: spec.clean(value.get(name), _at(where, name)) for name, spec in self.fields.items()}
        cleaned |= {name: spec.clean(value[name], _at(where, name)) for name, spec in self.optional.items()
                    if name in value}
        return cleaned


@dataclass(frozen=True)
class Tagged(Spec):
    """A dict with exactly one of the ``variants``' fields, e.g. ``{"returned": ...}`` or ``{"raised": ...}``."""

    variants: Mapping[str, Spec]

    def expected(self) -> str:
        return f"a dict with exactly one of the fields {', '.join(self.variants)}"

    def clean(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in self.variants:
            raise self._wrong(value, where)
        (tag, item), = value.items()
        return {tag: self.variants[tag].clean(item, _at(where, tag))}


@dataclass(frozen=True)
class ListOf(Spec):
    """A list (a tuple arrives as one) of ``min_len`` to ``max_len`` items, each meeting ``item``."""

    item: Spec
    min_len: int = 0
    max_len: int = 10_000

    def expected(self) -> str:
        count = str(self.min_len) if self.min_len == self.max_len else f"{self.min_len} to {self.max_len:,}"
        return f"a list of {count} items"

    def clean(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, (list, tuple)) or not self.min_len <= len(value) <= self.max_len:
            raise self._wrong(value, where)
        return [self.item.clean(item, f"{where}[{i}]") for i, item in enumerate(value)]


@dataclass(frozen=True)
class Json(Spec):
    """Plain data as JSON carries it (None, booleans, numbers, text, lists, dicts with text keys), bounded:
    nesting depth, number of values, characters of text in all, and integers within ±2**63 (so every
    number converts to a float for comparisons). NaN and infinities are numbers here
    (a function may rightly return them); whoever compares must treat them so. Walked without recursion."""

    max_depth: int = 16
    max_values: int = 10_000
    max_chars: int = 100_000

    def expected(self) -> str:
        return (f"plain data (numbers, text, lists, dicts) nested at most {self.max_depth} deep, with at most "
                f"{self.max_values:,} values and {self.max_chars:,} characters of text")

    def clean(self, value: Any, where: str) -> Any:
        pending, values, chars = [(value, 0)], 0, 0
        while pending:
            item, depth = pending.pop()
            values += 1
            if depth > self.max_depth or values + len(pending) > self.max_values:
                raise _fail(where, f"expected {self.expected()}, got more")
            if isinstance(item, str):
                chars += len(item)
            elif isinstance(item, (list, tuple)):
                pending += [(child, depth + 1) for child in item]
            elif isinstance(item, dict) and UNUSABLE not in item:
                for key, child in item.items():
                    chars += len(key) if isinstance(key, str) else 0
                    pending.append((child, depth + 1))
            elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > _JSON_INTEGERS:
                raise _fail(where, f"expected {self.expected()}, got {describe(item)} inside")
            elif item is not None and not isinstance(item, (bool, int, float)):
                raise _fail(where, f"expected {self.expected()}, got {describe(item)} inside")
            if chars > self.max_chars:
                raise _fail(where, f"expected {self.expected()}, got more text")
        return value
