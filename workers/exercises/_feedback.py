"""Feedback shared by the kinds: the "close to a threshold" note.

A measured value within 10% of its threshold, on either side, is one a single run can land on the other
side of next time (another training seed, another sample, another copy of the model). The feedback says so,
so that a pass that barely passed is not taken for a margin, and a near miss is not taken for a wrong method.
"""

from __future__ import annotations

from collections.abc import Iterable

NEAR = 0.1  # within 10% of the threshold, relative to the threshold


def is_near(value: float, threshold: float, ceiling: float | None = None) -> bool:
    """``value`` lies within 10% of ``threshold`` (either side); a value at ``ceiling`` is never close."""
    if ceiling is not None and value >= ceiling:
        return False
    return abs(value - threshold) < NEAR * abs(threshold)


def near_threshold(measurements: Iterable[tuple[str, float, float, str]], meaning: str,
                   ceiling: float | None = None) -> str | None:
    """The note for the ``(name, value, threshold, format)`` measurements within 10% of their thresholds, or None.

    ``format`` is a format spec for both numbers (``".1%"``, ``".2f"``); ``meaning`` says what being close means
    for this kind and what to do about it, as one or more sentences.
    """
    near = [f"{name} {value:{spec}} is within 10% of its threshold {threshold:{spec}}"
            for name, value, threshold, spec in measurements if is_near(value, threshold, ceiling)]
    if not near:
        return None
    return "Close to a threshold: " + "; ".join(near) + ". " + meaning
