"""Worked Example 1: a candidate feature direction from two activations, and both projections."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from grader.attempts.variants.base import Generator, Variant, show


def solve(a1: list[float], a2: list[float]) -> dict[str, Any]:
    """w = (a1 − a2) / |a1 − a2|, then w·a1 (positive sentence) and w·a2 (negative sentence)."""
    difference = [x - y for x, y in zip(a1, a2)]
    length = math.sqrt(sum(x * x for x in difference))
    w = [x / length for x in difference]
    return {
        "w": w,
        "projection-positive": sum(x * y for x, y in zip(w, a1)),
        "projection-negative": sum(x * y for x, y in zip(w, a2)),
    }


class FeatureDirection(Generator):
    slug = "feature_direction"
    title = "Feature direction from two activations (unit direction and both projections)"
    defaults = {"dimension": 3, "low": -1.0, "high": 1.0, "decimals": 1, "min_distance": 0.5}
    answer_keys = ("w", "projection-positive", "projection-negative")
    placeholders = ("a1", "a2")

    def generate(self, rng: random.Random, params: Mapping[str, Any]) -> Variant:
        def draw() -> list[float]:
            return [round(rng.uniform(params["low"], params["high"]), params["decimals"]) for _ in range(params["dimension"])]

        a1, a2 = draw(), draw()
        while math.dist(a1, a2) < params["min_distance"]:
            a2 = draw()
        return Variant(values={"a1": show(a1), "a2": show(a2)}, answers=solve(a1, a2))
