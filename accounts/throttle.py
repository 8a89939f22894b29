"""Throttling of log-ins and sign-ups, in the database so every server process shares the counts.

Limits (settings, each overridable from the environment):

- ``LOGIN_FAILURES_PER_ACCOUNT`` (5) failed log-ins for one username within ``LOGIN_THROTTLE_WINDOW``
  (15 minutes) lock that username, from any address, even for the right password;
- ``LOGIN_FAILURES_PER_ADDRESS`` (20) failed log-ins from one address in the same window lock log-ins from
  it (higher than per account: a classroom may share one address);
- ``SIGNUPS_PER_ADDRESS`` (10) new accounts from one address within ``SIGNUP_THROTTLE_WINDOW`` (1 hour).

A successful log-in clears that username's failures. Staff lift a lock by deleting its throttle events in
the admin (Accounts › Throttle events) or with ``manage.py reset_login_throttle USERNAME``. The address is
``REMOTE_ADDR``: behind a reverse proxy, have the proxy set it (X-Forwarded-For is not trusted here).
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.http import HttpRequest

from accounts.models import ThrottleEvent

Kind = ThrottleEvent.Kind


def now() -> float:
    return time.time()


def client_address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


def _account_key(username: str) -> str:
    return username.strip().lower()[:200]


def _wait(kind: str, key: str, limit: int, window: float) -> float:
    """Seconds until fewer than ``limit`` events of ``kind`` for ``key`` lie within the last ``window``; 0 if now."""
    start = now() - window
    recent = list(
        ThrottleEvent.objects.filter(kind=kind, key=key, at__gt=start).order_by("-at").values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0.0
    return max(1.0, recent[-1] - start)


def _record(kind: str, key: str, window: float) -> None:
    moment = now()
    ThrottleEvent.objects.filter(kind=kind, key=key, at__lte=moment - window).delete()
    ThrottleEvent.objects.create(kind=kind, key=key, at=moment)


def in_words(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def login_wait(username: str, request: HttpRequest | None) -> float:
    """Seconds before ``username`` may try to log in from this request's address; 0 when it may now."""
    window = settings.LOGIN_THROTTLE_WINDOW
    return max(
        _wait(Kind.LOGIN_ACCOUNT, _account_key(username), settings.LOGIN_FAILURES_PER_ACCOUNT, window),
        _wait(Kind.LOGIN_ADDRESS, client_address(request), settings.LOGIN_FAILURES_PER_ADDRESS, window),
    )


def login_failed(username: str, request: HttpRequest | None) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW
    _record(Kind.LOGIN_ACCOUNT, _account_key(username), window)
    _record(Kind.LOGIN_ADDRESS, client_address(request), window)


def login_succeeded(username: str) -> None:
    ThrottleEvent.objects.filter(kind=Kind.LOGIN_ACCOUNT, key=_account_key(username)).delete()


def reset_login(*, username: str | None = None, address: str | None = None) -> int:
    """Lift a lock at once (for staff); returns how many events were deleted."""
    deleted = 0
    if username is not None:
        deleted += ThrottleEvent.objects.filter(kind=Kind.LOGIN_ACCOUNT, key=_account_key(username)).delete()[0]
    if address is not None:
        deleted += ThrottleEvent.objects.filter(kind=Kind.LOGIN_ADDRESS, key=address).delete()[0]
    return deleted


def login_refusal(wait: float) -> str:
    return (
        f"Too many failed log-ins for this account or from your address. Try again in {in_words(wait)}, "
        "or ask staff to lift the lock."
    )


def signup_wait(request: HttpRequest) -> float:
    return _wait(Kind.SIGNUP_ADDRESS, client_address(request), settings.SIGNUPS_PER_ADDRESS, settings.SIGNUP_THROTTLE_WINDOW)


def signed_up(request: HttpRequest) -> None:
    _record(Kind.SIGNUP_ADDRESS, client_address(request), settings.SIGNUP_THROTTLE_WINDOW)


def signup_refusal(wait: float) -> str:
    return f"Too many accounts were created from your address recently. Try again in {in_words(wait)}."
