"""Pages for answering quizzes and problems, the learner's progress, and learners' variants for staff.

Forms post here and come back to ``next`` (the lesson page, when embedded there) or to the item's own
page. Unreadable input re-renders the form with the learner's text and a message per field; it is not
recorded, so it does not use up an attempt.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from courses.models import GradedItem
from grader.attempts import selectors, services
from grader.attempts.grading import InvalidAnswers
from grader.text_input import parse_id


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = fallback
    return redirect(target)


@login_required
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, pk: int) -> HttpResponse:
    quiz = selectors.published_quiz(pk)
    selections: dict[int, list[str]] | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        selections = {question.pk: request.POST.getlist(f"q{question.pk}") for question in quiz.questions.all()}
        try:
            services.submit_quiz(request.user.pk, quiz, selections)
            return _back(request, f"{request.path}#quiz-{quiz.pk}")
        except InvalidAnswers as invalid:
            errors = invalid.errors
        except services.AttemptRefused as refused:
            messages.error(request, str(refused))
            return _back(request, request.path)
    state = selectors.quiz_state(quiz, request.user.pk)
    if selections is not None:
        for view in state.questions:
            view.posted = selections[view.question.pk]
    return render(request, "grader/attempts/quiz_page.html", {"state": state, "errors": errors})


@login_required
@require_http_methods(["GET", "POST"])
def problem(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    item = selectors.graded_item(kind, pk)
    typed: dict[str, str] | None = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        typed = {part.key: request.POST.get(f"part-{part.key}", "") for part in item.parts.all()}
        try:
            if item.grading == GradedItem.Grading.SELF_ASSESSED:
                if "response" in request.POST:
                    services.write_self_assessment(request.user.pk, item, request.POST["response"])
                else:
                    typed_points = request.POST.getlist("points")
                    points = [parse_id(pk) for pk in typed_points]
                    if None in points:
                        bad = ", ".join(repr(pk[:20]) for pk, point in zip(typed_points, points) if point is None)
                        raise InvalidAnswers({"points": f"Expected rubric point numbers of this problem; received {bad}."})
                    services.assess_self(request.user.pk, item, points)
            else:
                services.submit_problem(request.user.pk, item, typed=typed, selected=request.POST.getlist("choice"))
            return _back(request, f"{request.path}#{kind}-{item.pk}")
        except InvalidAnswers as invalid:
            errors = invalid.errors
        except services.AttemptRefused as refused:
            messages.error(request, str(refused))
            return _back(request, request.path)
    state = selectors.problem_state(item, request.user.pk)
    if errors:
        state.typed = typed
    return render(request, "grader/attempts/problem_page.html", {"state": state, "errors": errors}, status=422 if errors else 200)


@login_required
def progress(request: HttpRequest) -> HttpResponse:
    return render(request, "grader/attempts/progress.html", {"lessons": selectors.learner_progress(request.user.pk)})


@staff_member_required
def variants(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Every learner's numbers and expected answers for one item, so instructors can check a learner's work."""
    item = selectors.graded_item(kind, pk, published=False)
    learners = get_user_model().objects.filter(is_active=True).order_by("username")
    if request.GET.get("learner"):
        learner_id = parse_id(request.GET["learner"])
        if learner_id is None:
            return HttpResponseBadRequest("The learner parameter must be a learner's id, written in digits 0-9.", content_type="text/plain")
        learners = learners.filter(pk=learner_id)
    parts = list(item.parts.all())
    rows = []
    for learner in learners:
        variant = selectors.learner_variant(learner.pk, item)
        rows.append((learner, variant, selectors.expected_answers(parts, variant)))
    return render(request, "grader/attempts/variants.html", {"item": item, "parts": parts, "rows": rows})
