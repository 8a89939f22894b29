"""Lessons as folders of files that instructors edit by hand and review in git (see docs/lesson-format.md)."""

from courses.lesson_files.reader import read_lesson_folder
from courses.lesson_files.syntax import LessonFileError
from courses.lesson_files.writer import write_lesson_folder

__all__ = ["LessonFileError", "read_lesson_folder", "write_lesson_folder"]
