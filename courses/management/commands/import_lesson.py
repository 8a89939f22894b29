from django.core.management.base import BaseCommand, CommandError

from courses.lesson_files import LessonFileError
from courses.services import import_lesson_folder


class Command(BaseCommand):
    help = "Import (create or update in place) lessons from lesson folders; all or nothing per folder."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="lesson folders, e.g. fixtures/lessons/25-01")

    def handle(self, *args, paths: list[str], **options):
        for path in paths:
            try:
                report = import_lesson_folder(path)
            except LessonFileError as error:
                raise CommandError(f"{error}\nNothing was changed.") from None
            self.stdout.write(self.style.SUCCESS(f"imported {report}"))
