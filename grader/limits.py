"""Per-learner limits on work a learner sends: how many may wait at once, how many per minute.

One implementation for graded submissions, playground runs and quiz / problem attempts. The caller
counts (its own rows, under a lock that serialises one learner's requests) and this module decides,
raising ``LimitReached`` with a message meant for the learner, which the web layer answers with 429.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

WINDOW = timedelta(minutes=1)


class LimitReached(Exception):
    """Too much at once or too fast. ``status`` is 429; the message says what to do."""

    status = 429


@dataclass(frozen=True)
class Wording:
    """How the messages name the work: ``noun`` (submission), ``waiting`` (waiting to be graded),
    ``done`` (submitted), ``again`` (Submit again), ``doing`` (submitting)."""

    noun: str
    waiting: str
    done: str
    again: str
    doing: str


SUBMISSIONS = Wording("submission", "waiting to be graded", "submitted", "Submit again", "submitting")
ATTEMPTS = Wording("attempt", "", "answered", "", "answering again")
RUNS = Wording("playground run", "waiting or running", "started a run", "Run again", "running again")


def check_pending(pending: int, limit: int, wording: Wording) -> None:
    if pending >= limit:
        raise LimitReached(
            f"You already have {pending} {wording.noun}{'s' if pending != 1 else ''} {wording.waiting} "
            f"(at most {limit} at once). {wording.again} when one has finished."
        )


def check_rate(recent: Sequence[datetime], limit: int, wording: Wording, *, now: datetime | None = None,
               where: str = "") -> None:
    """``recent``: when each of the learner's requests in the last minute was made (any order)."""
    window_start = (now or timezone.now()) - WINDOW
    times = sorted(t for t in recent if t >= window_start)
    if len(times) >= limit:
        wait = (times[-limit] - window_start).total_seconds()
        raise LimitReached(
            f"You have {wording.done} {len(times)} times in the last minute{where} (the limit is {limit}). "
            f"Please wait {max(1, round(wait))} seconds before {wording.doing}."
        )
