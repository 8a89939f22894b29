"""Lift a log-in lock at once: ``manage.py reset_login_throttle USERNAME`` or ``--address 10.0.0.1``."""

from django.core.management.base import BaseCommand

from accounts import throttle


class Command(BaseCommand):
    help = "Delete the failed log-ins counted against an account and/or an address, lifting its lock."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("--address")

    def handle(self, *args, username=None, address=None, **options) -> None:
        deleted = throttle.reset_login(username=username, address=address)
        self.stdout.write(f"Deleted {deleted} failed log-in{'s' if deleted != 1 else ''}.")
