"""Admin for attempts, the gradebook (learners × items, CSV export) and item analysis per question.

Attempts are records of what learners did, so they are read-only here. The gradebook and item
analysis are extra admin pages hung off the quiz attempt admin, so they inherit its staff-only access.
"""

from __future__ import annotations

import csv

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from courses.models import Lesson, Question, Quiz
from grader.attempts import selectors
from grader.models import ProblemAttempt, QuestionResponse, QuizAttempt, SelfAssessment


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class QuestionResponseInline(admin.TabularInline):
    model = QuestionResponse
    fk_name = "quiz_attempt"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["question", "selected", "score"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(QuizAttempt)
class QuizAttemptAdmin(ReadOnlyAdmin):
    list_display = ["learner", "quiz", "number", "score", "submitted_at"]
    list_filter = ["quiz"]
    search_fields = ["learner__username"]
    date_hierarchy = "submitted_at"
    inlines = [QuestionResponseInline]
    change_list_template = "grader/attempts/admin/quizattempt_change_list.html"

    def get_urls(self):
        own = [
            path("gradebook/", self.admin_site.admin_view(self.gradebook_view), name="grader_gradebook"),
            path("item-analysis/<int:quiz_id>/", self.admin_site.admin_view(self.item_analysis_view), name="grader_item_analysis"),
        ]
        return own + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        quizzes = Quiz.objects.select_related("lesson").order_by("lesson__code")
        return super().changelist_view(request, {**(extra_context or {}), "quizzes": quizzes})

    def gradebook_view(self, request: HttpRequest) -> HttpResponse:
        """Learners × items of the published lessons (or ?lesson=CODE); ?format=csv downloads it."""
        lessons = selectors.visible_lessons()
        if request.GET.get("lesson"):
            lessons = lessons.filter(code=request.GET["lesson"])
        book = selectors.gradebook(lessons)
        if request.GET.get("format") == "csv":
            return gradebook_csv(book)
        context = {**self.admin_site.each_context(request), "title": "Gradebook", "book": book, "opts": self.model._meta,
                   "lessons": Lesson.objects.order_by("code"), "lesson": request.GET.get("lesson", "")}
        return TemplateResponse(request, "grader/attempts/admin/gradebook.html", context)

    def item_analysis_view(self, request: HttpRequest, quiz_id: int) -> HttpResponse:
        quiz = get_object_or_404(Quiz.objects.select_related("lesson"), pk=quiz_id)
        attempts = QuizAttempt.objects.filter(quiz=quiz)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Item analysis: {quiz}",
            "quiz": quiz,
            "opts": self.model._meta,
            "attempts": attempts.count(),
            "learners": attempts.values("learner").distinct().count(),
            "analyses": selectors.item_analysis(
                [*quiz.questions.prefetch_related("choices"), *Question.objects.filter(worked_example__lesson_id=quiz.lesson_id)]
            ),
        }
        return TemplateResponse(request, "grader/attempts/admin/item_analysis.html", context)


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading ``'``; other cells are kept as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def gradebook_csv(book: selectors.Gradebook) -> HttpResponse:
    """One row per learner: best score per item (blank when not attempted) and attempts per item."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="gradebook.csv"'
    writer = csv.writer(response)
    labels = [f"{ref.lesson.code} {ref.title}" for ref in book.items]
    # Every cell goes through safe_cell: usernames, emails and item titles are whatever was stored.
    writer.writerow([safe_cell(cell) for cell in ["learner", "email", *labels, *(f"{label} (attempts)" for label in labels)]])
    for learner, row in book.rows:
        best = ["" if score.best is None else f"{score.best:.3f}" for score in row]
        cells = [learner.get_username(), learner.email, *best, *(score.attempts for score in row)]
        writer.writerow([safe_cell(cell) for cell in cells])
    return response


@admin.register(ProblemAttempt)
class ProblemAttemptAdmin(ReadOnlyAdmin):
    list_display = ["learner", "item", "number", "score", "submitted_at", "variant_link"]
    list_filter = ["worked_example", "practice_problem"]
    search_fields = ["learner__username"]
    fields = ["learner", "worked_example", "practice_problem", "number", "answers", "part_results", "variant", "score", "submitted_at"]

    @admin.display(description="learner's numbers")
    def variant_link(self, attempt: ProblemAttempt) -> str:
        kind = selectors.item_kind(attempt.item)
        url = reverse("grader:variants", kwargs={"kind": kind, "pk": attempt.item.pk})
        return format_html('<a href="{}?learner={}">variant</a>', url, attempt.learner_id)


@admin.register(SelfAssessment)
class SelfAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["learner", "practice_problem", "score", "written_at", "assessed_at"]
    list_filter = ["practice_problem"]
    search_fields = ["learner__username"]
    fields = ["learner", "practice_problem", "response", "points_made", "score", "written_at", "assessed_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SelfAssessment]:
        return super().get_queryset(request).select_related("learner", "practice_problem")
