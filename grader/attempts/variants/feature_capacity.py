"""Practice Problem 4: how many sparse random features fit in d dimensions before interference bites."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from grader.attempts.variants.base import Generator, Variant, show


def solve(d: int, p: float, interference: float = 0.5) -> dict[str, float]:
    """k active features interfere by about k/√d; keep that below the threshold, then n = k / p."""
    return {"max-features": interference * math.sqrt(d) / p}


class FeatureCapacity(Generator):
    slug = "feature_capacity"
    title = "Feature capacity of a layer (random d and activation probability p)"
    defaults = {"dimensions": [128, 256, 512, 768, 1024], "probabilities": [0.005, 0.01, 0.02, 0.05], "interference": 0.5}
    answer_keys = ("max-features",)
    placeholders = ("d", "p")

    def generate(self, rng: random.Random, params: Mapping[str, Any]) -> Variant:
        d = rng.choice(params["dimensions"])
        p = rng.choice(params["probabilities"])
        values = {"d": show(d), "p": show(p), "p_percent": show(p * 100), "interference": show(params["interference"])}
        return Variant(values=values, answers=solve(d, p, params["interference"]))
