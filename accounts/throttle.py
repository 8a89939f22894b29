"""Sign-up throttling, in the database so every server process shares the counts.

``SIGNUPS_PER_ADDRESS`` (10) new accounts from one address within ``SIGNUP_THROTTLE_WINDOW`` (1 hour); the
address is ``REMOTE_ADDR`` (X-Forwarded-For is not trusted). Log-in throttling is django-axes' (settings).
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


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def in_words(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} seconds"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def signup_wait(request: HttpRequest) -> float:
    """Seconds until this address may create another account; 0 if now."""
    limit, window = settings.SIGNUPS_PER_ADDRESS, settings.SIGNUP_THROTTLE_WINDOW
    start = now() - window
    recent = list(
        ThrottleEvent.objects.filter(kind=Kind.SIGNUP_ADDRESS, key=client_address(request), at__gt=start)
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0.0
    return max(1.0, recent[-1] - start)


def signed_up(request: HttpRequest) -> None:
    moment, key = now(), client_address(request)
    ThrottleEvent.objects.filter(kind=Kind.SIGNUP_ADDRESS, key=key, at__lte=moment - settings.SIGNUP_THROTTLE_WINDOW).delete()
    ThrottleEvent.objects.create(kind=Kind.SIGNUP_ADDRESS, key=key, at=moment)


def signup_refusal(wait: float) -> str:
    return f"Too many accounts were created from your address recently. Try again in {in_words(wait)}."
