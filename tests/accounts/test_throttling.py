"""Log-in and sign-up throttling (issue 17): brute force against one account, or from one address, is refused
with a clear message and a time to retry; the admin log-in shares the same counts (django-axes for log-ins)."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from accounts import throttle

LOGIN = "/accounts/login/"


def log_in(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client):
    return "_auth_user_id" in client.session


def lock(client, username="ada", ip="10.0.0.1"):
    for n in range(5):
        response = log_in(client, username, "wrong-password", ip=ip)
        assert response.status_code == (429 if n == 4 else 200)


def test_the_sixth_attempt_is_refused_even_with_the_right_password_and_says_when_to_retry(client, learner):
    lock(client)
    response = log_in(client, "ada", "learner-pass-123")
    assert response.status_code == 429
    assert not logged_in(client)
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert re.search(r"Try again in 1[45] minutes", page), page


def test_the_account_stays_locked_from_another_address_and_opens_after_the_window(client, learner):
    lock(client, ip="10.0.0.1")
    response = log_in(client, "ada", "learner-pass-123", ip="10.9.9.9")
    assert response.status_code == 429 and not logged_in(client)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    log_in(client, "ada", "learner-pass-123", ip="10.9.9.9")
    assert logged_in(client)


def test_the_wait_counts_down_from_the_last_failure(client, learner):
    lock(client)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=10))
    page = log_in(client, "ada", "learner-pass-123").content.decode()
    assert re.search(r"Try again in [56] minutes", page), page


def test_one_address_trying_many_accounts_is_throttled(client, learner):
    for n, name in enumerate(["u1", "u2", "u3", "u4", "u5"]):
        assert log_in(client, name, "whatever", ip="10.0.0.7").status_code == (429 if n == 4 else 200)
    response = log_in(client, "ada", "learner-pass-123", ip="10.0.0.7")
    assert response.status_code == 429 and not logged_in(client)
    log_in(client, "ada", "learner-pass-123", ip="10.0.0.8")
    assert logged_in(client)


def test_a_success_clears_the_accounts_failures(client, learner):
    for _ in range(4):
        log_in(client, "ada", "wrong-password")
    log_in(client, "ada", "learner-pass-123")
    assert logged_in(client)
    client.logout()
    for _ in range(4):
        log_in(client, "ada", "wrong-password", ip="10.0.0.2")
    log_in(client, "ada", "learner-pass-123", ip="10.0.0.3")
    assert logged_in(client)


def test_the_admin_login_shares_the_throttle(client, admin_user):
    lock(client, username="admin")
    response = client.post(reverse("admin:login"), {"username": "admin", "password": "password"}, REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 429 and not logged_in(client)
    assert "Too many failed log-ins" in response.content.decode()


def test_failures_at_the_admin_login_lock_the_site_login(client, admin_user):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "admin", "password": "wrong"}, REMOTE_ADDR="10.0.0.5")
    assert log_in(client, "admin", "password", ip="10.0.0.6").status_code == 429
    assert not logged_in(client)


@pytest.mark.parametrize(
    "command, args", [("axes_reset_username", ["ada"]), ("axes_reset_ip", ["10.0.0.1"])]
)
def test_staff_can_reset_a_lock_with_axes_commands(client, learner, command, args):
    lock(client)
    call_command(command, *args)
    log_in(client, "ada", "learner-pass-123")
    assert logged_in(client)


def test_sign_up_is_throttled_per_address(client, db, settings):
    settings.SIGNUPS_PER_ADDRESS = 2
    for n in range(2):
        form = {"username": f"new{n}", "password1": "a-long-pass-1234", "password2": "a-long-pass-1234"}
        assert client.post(reverse("signup"), form, REMOTE_ADDR="10.1.1.1").status_code == 302
        client.logout()
    form = {"username": "new9", "password1": "a-long-pass-1234", "password2": "a-long-pass-1234"}
    response = client.post(reverse("signup"), form, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 429
    assert "Too many accounts" in response.content.decode() and "Try again in" in response.content.decode()
    assert not get_user_model().objects.filter(username="new9").exists()
    assert client.post(reverse("signup"), form, REMOTE_ADDR="10.1.1.2").status_code == 302


@pytest.mark.parametrize("seconds, text", [(30, "30 seconds"), (61, "2 minutes"), (900, "15 minutes"), (3599, "60 minutes")])
def test_the_wait_is_said_in_words(seconds, text):
    assert throttle.in_words(seconds) == text


def test_a_forwarded_for_header_does_not_change_the_address(client, db):
    for n in range(5):
        client.post(LOGIN, {"username": f"u{n}", "password": "x"}, REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.9"}
