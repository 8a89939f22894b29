"""The lesson page's list of code exercises: ``{% load exercises %}{% lesson_exercises lesson %}``.

Learners see published exercises with their best score so far; staff also see drafts.
"""

from __future__ import annotations

from django import template
from django.db.models import Max

from courses.models import Lesson
from grader.submissions import selectors

register = template.Library()


@register.inclusion_tag("grader/submissions/lesson_exercises.html", takes_context=True)
def lesson_exercises(context: template.Context, lesson: Lesson) -> dict:
    user = context["request"].user
    exercises = list(selectors.visible_exercises(user).filter(lesson=lesson))
    best: dict[int, float] = {}
    if user.is_authenticated:
        best = dict(
            selectors.submissions_of(user)
            .filter(exercise__in=exercises, state="graded")
            .values_list("exercise")
            .annotate(best=Max("score"))
        )
    return {"rows": [(exercise, best.get(exercise.pk)) for exercise in exercises]}
