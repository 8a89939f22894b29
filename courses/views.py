"""Pages of course content: the catalog, a lesson, the answers behind a reveal, and generated figures."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from courses import figures, selectors
from courses.models import Lesson, PracticeProblem, WorkedExample

REVEALABLE = {"worked-examples": WorkedExample, "practice-problems": PracticeProblem}


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    return render(request, "courses/catalog.html", {"courses": selectors.catalog(request.user)})


@require_GET
def lesson(request: HttpRequest, code: str) -> HttpResponse:
    try:
        lesson = selectors.lesson_page(code, request.user)
    except Lesson.DoesNotExist:
        raise Http404(f"No lesson {code}") from None
    context = {"lesson": lesson, "sections": selectors.lesson_sections(lesson)}
    return render(request, "courses/lesson.html", context)


@require_GET
def reveal(request: HttpRequest, code: str, kind: str, pk: int) -> HttpResponse:
    """The hidden part of a worked example or problem: a fragment for the page's script, else a page."""
    model = REVEALABLE.get(kind)
    if model is None:
        raise Http404(f"Nothing to reveal in {kind}")
    try:
        lesson = selectors.open_lessons(request.user).get(code=code)
        item = selectors.revealed_item(lesson, model, pk)
    except (Lesson.DoesNotExist, model.DoesNotExist):
        raise Http404("No such item") from None
    context = {"lesson": lesson, "item": item, "kind": kind, "number": selectors.item_number(item)}
    fragment = request.headers.get("X-Requested-With") == "fetch"
    return render(request, "courses/reveal_fragment.html" if fragment else "courses/reveal.html", context)


@require_GET
@cache_control(public=True, max_age=86400)
def figure(request: HttpRequest, name: str) -> HttpResponse:
    if name not in figures.REGISTRY:
        raise Http404(f"No figure {name}")
    return HttpResponse(figures.render_figure(name), content_type="image/svg+xml; charset=utf-8")
