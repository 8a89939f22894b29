"""Sign-ups counted per address (see accounts.throttle); failed log-ins are django-axes' (axes.AccessAttempt)."""

from __future__ import annotations

from django.db import models


class ThrottleEvent(models.Model):
    """One sign-up from an address. Rows older than the window are deleted as new ones are written."""

    class Kind(models.TextChoices):
        SIGNUP_ADDRESS = "signup-address", "sign-up, by address"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, help_text="The client's address.")
    at = models.FloatField(help_text="Seconds since the epoch.")

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"
