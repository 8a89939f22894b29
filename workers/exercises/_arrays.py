"""Carrying learners' tensors out of the sandbox child: arrays when they are arrays, a description otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.exercises.base import InvalidOutput
from workers.sandbox.validation import expect_array


def from_learner(value: Any) -> np.ndarray | dict[str, str]:
    """In the child: a tensor, array or nested list as a NumPy array; anything else as ``{"not_an_array": type}``,
    so the parent can say what it received instead of the sandbox failing to send an arbitrary object."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nested lists
            return {"not_an_array": "a ragged list"}
        if array.dtype.kind in "fiub":
            return array
    return {"not_an_array": f"a {type(value).__name__}"}


def learner_array(outputs: dict[str, Any], name: str, shape: tuple[int | None, ...] | None = None,
                  dtype_kind: str = "fiub") -> np.ndarray:
    """In the parent: ``outputs[name]`` checked like ``expect_array``, naming what came instead of an array."""
    value = outputs.get(name) if isinstance(outputs, dict) else None
    if isinstance(value, dict) and isinstance(value.get("not_an_array"), str):
        raise InvalidOutput(f"{name}: expected a tensor, got {value['not_an_array']}")
    return expect_array(outputs, name, shape=shape, dtype_kind=dtype_kind)
