"""The child's side of the contract: learners' values as plain data the parent can validate.

These run inside the sandbox, after learner code, so they only carry values across and describe what
could not be carried; every check that matters happens again in the parent (``contract``), which also
decides whether a description is plain enough to show.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from workers.exercises.contract import UNUSABLE, InvalidOutput


def unusable(description: str) -> dict[str, str]:
    """The marker for a value that cannot be sent, saying what it was (e.g. "a ragged list")."""
    return {UNUSABLE: description}


def from_learner(value: Any) -> np.ndarray | int | float | dict[str, str]:
    """A tensor, array or nested list as a NumPy array (its own dtype: the parent judges it), a Python
    number as itself, anything else as the ``unusable`` marker naming its type."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        try:
            if value.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
                value = value.float()
            return value.detach().cpu().resolve_conj().numpy()
        except (TypeError, RuntimeError):
            return unusable(f"a {str(value.dtype).removeprefix('torch.')} tensor")
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):  # numpy scalars: np.float32(0.5) is not a float
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError, RuntimeError, OverflowError, RecursionError):
            return unusable("a ragged list")
        return array if array.dtype.kind in "biuf" else unusable("a list of things other than numbers")
    return unusable(_type_name(value))


def require_function(learner: dict[str, Any], name: str, signature: str = "") -> Callable[..., Any]:
    """The learner's function ``name``, or a message naming what their module defines by that name instead."""
    value = learner.get(name)
    if not callable(value):
        found = "nothing" if name not in learner else _type_name(value)
        raise InvalidOutput(f"your code must define a function {name}({signature}); it defines {found} by that name")
    return value


def _type_name(value: Any) -> str:
    """Built-in types by name; the learner's own classes (whose names they choose) as "an object"."""
    if value is None:
        return "None"
    kind = type(value)
    name = kind.__name__ if kind.__module__ == "builtins" else "object"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
