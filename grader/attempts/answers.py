"""Reading numbers the way people type them, and checking them against an expected value.

Accepted scalars: ``0.6``, ``.6``, ``3/5``, ``1.13e3``, ``1,130`` and ``1 130`` (groups of three
digits), ``-0.748`` and ``−0.748`` (Unicode minus). Accepted vectors: components separated by commas
or semicolons, with or without square brackets or parentheses: ``[0.805, -0.288, 0.518]``. Without
brackets a comma is read as a thousands separator when one number is expected and as a separator of
components when a vector is expected, so ``1,130`` is 1130 for a scalar part and never ambiguous.
Inside a vector, group thousands with spaces (``[1 130, 2]``).

Every refusal is an :class:`AnswerError` whose message says what was expected and what was received;
callers show it next to the answer box and do not count the attempt.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

Value = float | list[float]

_MINUSES = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f]+")
_GROUPED = r"\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+"
_DECIMAL = rf"(?:{_GROUPED}|\d+)(?:\.\d*)?|\.\d+"
_NUMBER = re.compile(rf"(?P<sign>[+-]?)(?P<mantissa>{_DECIMAL})(?:[eE](?P<exponent>[+-]?\d+))?")
_NUMBER_NO_COMMAS = re.compile(_NUMBER.pattern.replace(r"\d{1,3}(?:,\d{3})+|", ""))
_EXAMPLES = "a number such as 0.6, 3/5, -0.748 or 1.13e3"


class AnswerError(ValueError):
    """The input could not be read as the expected kind of answer; the message is for the learner."""


def _shown(text: str) -> str:
    text = text.strip()
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_MINUSES)).strip()


def _decimal(text: str, *, commas_group: bool) -> float:
    pattern = _NUMBER if commas_group else _NUMBER_NO_COMMAS
    match = pattern.fullmatch(text.strip())
    if not match:
        raise AnswerError(f"Expected {_EXAMPLES}; received {_shown(text)}.")
    literal = match["sign"] + match["mantissa"].replace(",", "").replace(" ", "")
    if match["exponent"]:
        literal += "e" + match["exponent"]
    value = float(literal)
    if not math.isfinite(value):
        raise AnswerError(f"Expected a number of a sensible size; received {_shown(text)}, which is too large.")
    return value


def _scalar(text: str, *, commas_group: bool) -> float:
    text = text.strip()
    if not text:
        raise AnswerError(f"Expected {_EXAMPLES}; received nothing.")
    if text.lower().lstrip("+-") in {"nan", "inf", "infinity"}:
        raise AnswerError(f"Expected a finite number; received {_shown(text)}.")
    if "/" not in text:
        return _decimal(text, commas_group=commas_group)
    numerator, _, denominator = text.partition("/")
    if "/" in denominator or not numerator.strip() or not denominator.strip():
        raise AnswerError(f"Expected a fraction such as 3/5; received {_shown(text)}.")
    top = _decimal(numerator, commas_group=commas_group)
    bottom = _decimal(denominator, commas_group=commas_group)
    if bottom == 0:
        raise AnswerError(f"Expected a fraction with a non-zero denominator; received {_shown(text)}.")
    return top / bottom


def parse_number(text: str) -> float:
    """Read one number; commas and spaces may group thousands."""
    return _scalar(_normalise(text), commas_group=True)


def parse_vector(text: str, length: int) -> list[float]:
    """Read ``length`` numbers separated by commas or semicolons, brackets optional."""
    normalised = _normalise(text)
    inner = normalised
    if inner[:1] in "[(" and inner[-1:] in "])":
        inner = inner[1:-1]
    if not inner.strip():
        raise AnswerError(f"Expected {length} numbers such as [0.8, -0.3, 0.5]; received nothing.")
    pieces = re.split(r"[,;]", inner)
    if len(pieces) != length:
        raise AnswerError(
            f"Expected {length} numbers separated by commas, such as [0.8, -0.3, 0.5]; "
            f"received {len(pieces)} in {_shown(text)}."
        )
    values = []
    for position, piece in enumerate(pieces, start=1):
        try:
            values.append(_scalar(piece, commas_group=False))
        except AnswerError as error:
            raise AnswerError(f"Component {position} of {length}: {error}") from None
    return values


def parse_answer(text: str, expected: Value) -> Value:
    """Read ``text`` in the shape of ``expected``: a number, or a vector of the same length."""
    if isinstance(expected, Sequence):
        return parse_vector(text, len(expected))
    return parse_number(text)


def tolerance_for(
    expected: float,
    *,
    abs_tolerance: float | None = None,
    rel_tolerance: float | None = None,
    sig_figs: int | None = None,
) -> float:
    """The largest accepted distance from ``expected``.

    With ``sig_figs`` the answer must agree with the exact value to that many significant figures:
    within half a unit in the last kept place (0.98975 to 2 figures accepts 0.98475 … 0.99475).
    Otherwise the looser of the absolute and relative tolerances applies.
    """
    if sig_figs:
        if expected == 0:
            return 0.0
        last_place = math.floor(math.log10(abs(expected))) - sig_figs + 1
        return 0.5 * 10.0**last_place
    allowed = [abs_tolerance or 0.0, (rel_tolerance or 0.0) * abs(expected)]
    return max(allowed)


def is_close(received: float, expected: float, tolerance: float) -> bool:
    """Within ``tolerance``, forgiving the rounding error of binary floats at the boundary."""
    return abs(received - expected) <= tolerance * (1 + 1e-9) + 1e-12 * max(1.0, abs(expected))


def off_components(received: Value, expected: Value, **tolerances: float | None) -> list[int]:
    """Positions (1-based) of the components outside tolerance; a scalar is component 1."""
    pairs = zip(received, expected) if isinstance(expected, Sequence) else [(received, expected)]
    return [
        position
        for position, (got, want) in enumerate(pairs, start=1)
        if not is_close(got, want, tolerance_for(want, **tolerances))
    ]
