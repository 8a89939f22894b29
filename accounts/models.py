"""Throttle events: failed log-ins and sign-ups, counted per account and per address (see accounts.throttle)."""

from __future__ import annotations

from django.db import models


class ThrottleEvent(models.Model):
    """One failed log-in (for an account, and for an address) or one sign-up from an address.

    Rows older than the window are deleted as new ones are written; staff may delete rows in the admin
    (or with ``manage.py reset_login_throttle``) to lift a lock at once.
    """

    class Kind(models.TextChoices):
        LOGIN_ACCOUNT = "login-account", "failed log-in, by account"
        LOGIN_ADDRESS = "login-address", "failed log-in, by address"
        SIGNUP_ADDRESS = "signup-address", "sign-up, by address"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, help_text="The username (lower case) or the client's address.")
    at = models.FloatField(help_text="Seconds since the epoch.")

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"
