"""seed_demo: demo accounts only in demo mode, with generated passwords kept in the data folder."""

import json
import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.services import INSTRUCTORS


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEMO_MODE = True
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def test_seed_demo_refuses_outside_demo_mode(db, settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="only runs in demo mode.*MECHGRADE_DEMO=1"):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()


def test_seed_demo_creates_a_learner_and_an_instructor_and_prints_how_to_log_in(db, demo, client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    passwords = json.loads((demo / "demo-accounts.json").read_text())
    assert stat.S_IMODE((demo / "demo-accounts.json").stat().st_mode) == 0o600
    printed = out.getvalue()
    assert "http://127.0.0.1:8000/" in printed
    for username, password in passwords.items():
        assert f"{username}" in printed and password in printed
        assert client.login(username=username, password=password)
    User = get_user_model()
    assert not User.objects.get(username="demo-learner").is_staff
    instructor = User.objects.get(username="demo-instructor")
    assert instructor.is_staff and instructor.groups.filter(name=INSTRUCTORS).exists()


def test_seed_demo_keeps_the_same_passwords_across_runs(db, demo):
    call_command("seed_demo", stdout=StringIO())
    first = (demo / "demo-accounts.json").read_text()
    call_command("seed_demo", stdout=StringIO())
    assert (demo / "demo-accounts.json").read_text() == first
    assert get_user_model().objects.count() == 2
