"""Answer panels for the lesson page: ``{% load attempts %}{% quiz_panel quiz %}``, ``{% problem_panel item %}``.

The panels read the signed-in learner from the request, so the lesson page needs no grading logic;
``{% learner_statement item %}`` renders an item's statement with the learner's own numbers.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from courses.models import GradedItem, Quiz
from courses.rendering import render_markdown
from grader.attempts import selectors

register = template.Library()


@register.filter
def percent(score: float | None) -> str:
    return "—" if score is None else f"{round(score * 100)}%"


@register.filter
def get(mapping: dict, key: object) -> object:
    return mapping.get(str(key)) if mapping else None


def _panel_context(context: template.Context) -> dict:
    request = context["request"]
    return {"request": request, "csrf_token": context.get("csrf_token"), "errors": {}, "next": request.get_full_path()}


@register.inclusion_tag("grader/attempts/quiz_panel.html", takes_context=True)
def quiz_panel(context: template.Context, quiz: Quiz) -> dict:
    request = context["request"]
    state = selectors.quiz_state(quiz, request.user.pk) if request.user.is_authenticated else None
    return {**_panel_context(context), "quiz": quiz, "state": state}


@register.inclusion_tag("grader/attempts/problem_panel.html", takes_context=True)
def problem_panel(context: template.Context, item: GradedItem) -> dict:
    request = context["request"]
    state = selectors.problem_state(item, request.user.pk) if request.user.is_authenticated else None
    return {**_panel_context(context), "item": item, "state": state}


@register.simple_tag(takes_context=True)
def learner_statement(context: template.Context, item: GradedItem) -> SafeString:
    request = context["request"]
    variant = selectors.learner_variant(request.user.pk, item) if request.user.is_authenticated else None
    return render_markdown(variant.fill(item.statement) if variant else item.statement)
