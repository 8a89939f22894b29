"""Practice Problem 1: a fourth, nearly unit feature against the standard basis of R³."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from grader.attempts.variants.base import Generator, Variant, show


def solve(f4: list[float]) -> dict[str, float]:
    """Dot products of f4 with the basis vectors f1, f2, f3 are its components; then its squared norm."""
    return {
        "f1-f4": f4[0],
        "f2-f4": f4[1],
        "f3-f4": f4[2],
        "f4-squared-norm": sum(x * x for x in f4),
    }


class FeatureInterference(Generator):
    slug = "feature_interference"
    title = "Fourth feature in R³ (dot products with the basis and squared norm)"
    defaults = {"low": 0.3, "high": 0.7, "decimals": 2}
    answer_keys = ("f1-f4", "f2-f4", "f3-f4", "f4-squared-norm")
    placeholders = ("f4",)

    def generate(self, rng: random.Random, params: Mapping[str, Any]) -> Variant:
        x, y = (round(rng.uniform(params["low"], params["high"]), params["decimals"]) for _ in range(2))
        # The third component makes f4 nearly unit length, as in the lesson's [0.6, 0.6, 0.528].
        z = round(math.sqrt(max(0.0, 1 - x * x - y * y)), 3)
        f4 = [x, y, z]
        return Variant(values={"f4": show(f4)}, answers=solve(f4))
