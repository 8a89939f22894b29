"""Writes for accounts: the Instructors group, making a user an instructor, and the demo accounts."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission

INSTRUCTORS = "Instructors"
# Instructors author lessons and manage grading configuration; every permission on these apps.
AUTHORING_APPS = ("courses", "grader")


def ensure_instructors_group() -> Group:
    """Create the Instructors group if needed and give it every permission on the authoring apps."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    permissions = Permission.objects.filter(content_type__app_label__in=AUTHORING_APPS)
    if set(group.permissions.values_list("pk", flat=True)) != set(permissions.values_list("pk", flat=True)):
        group.permissions.set(permissions)
    return group


def make_instructor(user: AbstractUser) -> AbstractUser:
    """Staff status (the admin lets them in) plus the group (what they may do there)."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(ensure_instructors_group())
    return user


DEMO_USERS = {"demo-learner": False, "demo-instructor": True}  # username: is an instructor
DEMO_PASSWORDS_FILE = "demo-accounts.json"


def ensure_demo_accounts(data_dir: Path) -> dict[str, str]:
    """Create or reset the demo learner and instructor; return ``{username: password}``.

    Passwords are generated once and kept (0600) in ``data_dir``, so the printed credentials stay
    the same across restarts and never appear in the repository.
    """
    path = data_dir / DEMO_PASSWORDS_FILE
    passwords = json.loads(path.read_text()) if path.exists() else {}
    for username in DEMO_USERS:
        passwords.setdefault(username, secrets.token_urlsafe(12))
    if not path.exists():
        path.touch(mode=0o600)
    path.write_text(json.dumps(passwords, indent=2))

    User = get_user_model()
    for username, instructor in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        user.set_password(passwords[username])
        user.save()
        if instructor:
            make_instructor(user)
    return {username: passwords[username] for username in DEMO_USERS}
