"""Checks trusted graders run on a child's outputs before using them. Each failure raises ``InvalidOutput``
with a message for the learner: what was expected, what was received, and under which name."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.exercises.base import InvalidOutput


def _described(value: Any) -> str:
    if value is None:
        return "nothing"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def expect_array(
    outputs: dict[str, Any],
    name: str,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    dtype_kind: str = "fiub",
) -> np.ndarray:
    """The array ``outputs[name]``; ``None`` in ``shape`` accepts any size in that dimension.

    ``dtype_kind`` lists the accepted numpy kinds (f float, i int, u unsigned, b bool).
    """
    value = outputs.get(name) if isinstance(outputs, dict) else None
    if not isinstance(value, np.ndarray):
        raise InvalidOutput(f"{name}: expected a tensor, got {_described(value)}")
    if value.dtype.kind not in dtype_kind:
        raise InvalidOutput(f"{name}: expected a tensor of numbers, got dtype {value.dtype}")
    if shape is not None and (
        value.ndim != len(shape) or any(want is not None and want != got for want, got in zip(shape, value.shape))
    ):
        wanted = _shape(tuple("*" if n is None else n for n in shape))
        raise InvalidOutput(f"{name}: expected a tensor of shape {wanted}, got {_shape(value.shape)}")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        bad = np.argwhere(~np.isfinite(value))[0]
        what = "NaN" if np.isnan(value[tuple(bad)]) else "infinite"
        raise InvalidOutput(
            f"{name}: expected finite values, got {what} at index {_shape(tuple(int(i) for i in bad))}"
            f" ({int((~np.isfinite(value)).sum())} of {value.size} values are not finite)"
        )
    return value


def expect_number(outputs: dict[str, Any], name: str, finite: bool = True) -> float:
    """The number ``outputs[name]`` (a 0-d or one-element array counts)."""
    value = outputs.get(name) if isinstance(outputs, dict) else None
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidOutput(f"{name}: expected a number, got {_described(value)}")
    if finite and not math.isfinite(value):
        raise InvalidOutput(f"{name}: expected a finite number, got {value}")
    return float(value)


def require_function(learner: dict[str, Any], name: str, signature: str = "") -> Callable[..., Any]:
    """For ``run_in_child``: the learner's function ``name``, or a clear message that it is missing."""
    value = learner.get(name)
    if not callable(value):
        raise InvalidOutput(
            f"your code must define a function {name}({signature}); it defines {_described(value)} by that name"
        )
    return value
