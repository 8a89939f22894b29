"""A worker host without every isolation mechanism refuses to run learner code, unless an operator allowed it."""

from __future__ import annotations

import logging

import pytest

from workers.sandbox import Limits, SandboxUnavailable
from workers.sandbox.isolation import ALLOW_WEAK_ENV, check_host


def test_a_complete_host_starts_silently(caplog):
    check_host({}, allow_weak=False)
    assert not caplog.records


def test_a_missing_mechanism_refuses_with_the_reason_and_the_way_out():
    with pytest.raises(SandboxUnavailable) as refused:
        check_host({"landlock": "not enabled in this kernel"}, allow_weak=False)

    message = str(refused.value)
    assert "landlock: not enabled in this kernel" in message
    assert ALLOW_WEAK_ENV in message and "Worker host isolation" in message


def test_the_operator_can_allow_weak_mode_and_it_is_logged_loudly(monkeypatch, caplog):
    monkeypatch.setenv(ALLOW_WEAK_ENV, "1")
    with caplog.at_level(logging.WARNING, logger="workers.sandbox"):
        check_host({"network namespace": "Operation not permitted"})

    assert "WEAK MODE" in caplog.text and "network namespace: Operation not permitted" in caplog.text


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="Limits.wall_seconds must be positive"):
        Limits(wall_seconds=0)
