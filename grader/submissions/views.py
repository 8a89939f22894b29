"""The learner's exercise page: statement, editor, live state of the latest submission, past submissions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from courses.rendering import render_markdown
from grader.submissions import selectors, services
from workers.exercises.registry import get_kind


@login_required
@require_http_methods(["GET", "POST"])
def exercise(request: HttpRequest, slug: str) -> HttpResponse:
    """Shows the exercise. A POST (the form without JavaScript) submits; the script uses the API instead."""
    exercise = get_object_or_404(selectors.visible_exercises(request.user), slug=slug)
    if request.method == "POST":
        try:
            services.submit(learner=request.user, exercise=exercise, code=request.POST.get("code", ""))
        except services.SubmissionRefused as refusal:
            messages.error(request, str(refusal))
        return redirect(exercise)
    submissions = list(selectors.submissions_of(request.user, exercise)[:50])
    return render(
        request,
        "grader/submissions/exercise.html",
        {
            "exercise": exercise,
            "statement": render_markdown(exercise.statement),
            "interface": render_markdown(get_kind(exercise.kind).learner_interface),
            "code": submissions[0].code if submissions else exercise.effective_starter_code(),
            "submissions": submissions,
            "codes": {str(s.pk): s.code for s in submissions},
        },
    )
