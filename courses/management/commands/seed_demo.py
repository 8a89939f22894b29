from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import ensure_demo_accounts


class Command(BaseCommand):
    help = "Create or reset the demo learner and instructor (demo mode only) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="where the site is served")

    def handle(self, *args, url: str, **options):
        if not settings.DEMO_MODE:
            raise CommandError(
                "seed_demo only runs in demo mode, because it creates accounts with known passwords. "
                "Set MECHGRADE_DEMO=1 (scripts/run does) on a machine that is not a production server."
            )
        accounts = ensure_demo_accounts(settings.DATA_DIR)
        self.stdout.write(self.style.SUCCESS(f"Demo site: {url}"))
        for username, password in accounts.items():
            self.stdout.write(f"  {username:<16} password: {password}")
        self.stdout.write(f"  (passwords are kept in {settings.DATA_DIR / 'demo-accounts.json'})")
