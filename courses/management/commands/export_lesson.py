from django.core.management.base import BaseCommand, CommandError

from courses.lesson_files import write_lesson_folder
from courses.models import Lesson


class Command(BaseCommand):
    help = "Write a lesson from the database as a lesson folder that import_lesson reads back."

    def add_arguments(self, parser):
        parser.add_argument("code", help='lesson code, e.g. "25-01"')
        parser.add_argument("path", help="folder to write (created if needed)")

    def handle(self, *args, code: str, path: str, **options):
        try:
            lesson = Lesson.objects.select_related("phase__course").get(code=code)
        except Lesson.DoesNotExist:
            raise CommandError(f"No lesson with code {code!r}.") from None
        try:
            written = write_lesson_folder(lesson, path)
        except ValueError as error:
            raise CommandError(f"Cannot export {code}: {error}") from None
        self.stdout.write(self.style.SUCCESS(f"exported {code} to {path} ({len(written)} files)"))
