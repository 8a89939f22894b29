"""Per-learner randomness that learners cannot predict for each other.

The seed is an HMAC of (learner, purpose) under the server's SECRET_KEY: stable for one learner,
unguessable for another. Rotating SECRET_KEY changes future variants and shuffles; attempts keep
the numbers they were graded against, so history stays truthful.
"""

from __future__ import annotations

import random

from django.utils.crypto import salted_hmac


def learner_rng(learner_id: int, purpose: str) -> random.Random:
    """A generator seeded from the learner and what it is for, e.g. ``"variant:practice_problem:7"``."""
    digest = salted_hmac("grader.attempts.seeds", f"{learner_id}:{purpose}", algorithm="sha256").digest()
    return random.Random(int.from_bytes(digest[:16], "big"))
