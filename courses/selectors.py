"""Reads of course content for pages: what a visitor may see, fetched in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from courses.models import Choice, Course, GradedItem, Lesson, Phase, PracticeProblem, Question, WorkedExample


def visible_lessons(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lesson]:
    """Published and upcoming lessons; drafts only for staff."""
    lessons = Lesson.objects.select_related("phase__course")
    if not user.is_staff:
        lessons = lessons.exclude(status=Lesson.Status.DRAFT)
    return lessons


def open_lessons(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lesson]:
    """Lessons whose page ``user`` may open: published ones; for staff, drafts and upcoming ones too."""
    lessons = Lesson.objects.select_related("phase__course")
    if not user.is_staff:
        lessons = lessons.filter(status=Lesson.Status.PUBLISHED)
    return lessons


def catalog(user: AbstractBaseUser | AnonymousUser) -> list[Course]:
    """Courses with their phases and the lessons ``user`` may see, in course order."""
    lessons = Prefetch("lessons", queryset=visible_lessons(user).order_by("code"))
    phases = Prefetch("phases", queryset=Phase.objects.prefetch_related(lessons).order_by("number"))
    return list(Course.objects.prefetch_related(phases).order_by("title"))


def lesson_page(code: str, user: AbstractBaseUser | AnonymousUser) -> Lesson:
    """A lesson with every section prefetched; raises Lesson.DoesNotExist if ``user`` may not open it."""
    choices = Prefetch("choices", queryset=Choice.objects.order_by("order", "pk"))
    return (
        open_lessons(user)
        .select_related("previous_lesson", "next_lesson", "quiz")
        .prefetch_related(
            "prerequisite_lessons",
            "objectives",
            "core_blocks",
            "key_terms",
            Prefetch("worked_examples", queryset=WorkedExample.objects.select_related("question")),
            Prefetch("worked_examples__question__choices", queryset=Choice.objects.order_by("order", "pk")),
            "practice_problems",
            "pitfalls",
            Prefetch("quiz__questions", queryset=Question.objects.prefetch_related(choices)),
        )
        .get(code=code)
    )


@dataclass(frozen=True)
class Section:
    """One section of the lesson page: its anchor, its heading and the partial that draws it."""

    anchor: str
    title: str

    @property
    def template(self) -> str:
        return f"courses/sections/{self.anchor.replace('-', '_')}.html"


def lesson_sections(lesson: Lesson) -> list[Section]:
    """The sections ``lesson`` has content for, in the fixed order every lesson is taught in."""
    quiz = getattr(lesson, "quiz", None)
    present = [
        ("objectives", "Learning Objectives", lesson.objectives.all()),
        ("core-content", "Core Content", lesson.core_blocks.all()),
        ("key-terms", "Key Terms", lesson.key_terms.all()),
        ("worked-examples", "Worked Examples", lesson.worked_examples.all()),
        ("practice-problems", "Practice Problems", lesson.practice_problems.all()),
        ("code-exercises", "Code Exercises", lesson.code_exercises.all()),  # grader's exercises on this lesson
        ("quiz", quiz.title if quiz else "Quiz", quiz.questions.all() if quiz else ()),
        ("pitfalls", "Pitfalls", lesson.pitfalls.all()),
        ("summary", "Summary", lesson.summary),
        ("next-steps", "Next Steps", lesson.next_steps or lesson.next_lesson),
    ]
    return [Section(anchor, title) for anchor, title, content in present if content]


def revealed_item(lesson: Lesson, model: type[WorkedExample] | type[PracticeProblem], pk: int) -> WorkedExample | PracticeProblem:
    """An ungraded worked example or practice problem of ``lesson``, with what its reveal shows.

    Graded items are left out (DoesNotExist): their answers show in the grader's answer panel,
    once the learner has earned them, and a reveal URL must not hand them out earlier.
    """
    items = model.objects.filter(lesson=lesson, grading=GradedItem.Grading.NONE)
    if model is WorkedExample:
        items = items.select_related("question").prefetch_related("question__choices")
    else:
        items = items.prefetch_related("rubric")
    return items.get(pk=pk)


def item_number(item: WorkedExample | PracticeProblem) -> int:
    """The 1-based position of ``item`` in its section, as the lesson page numbers it."""
    siblings = type(item).objects.filter(lesson_id=item.lesson_id).values_list("pk", flat=True)
    return list(siblings).index(item.pk) + 1
