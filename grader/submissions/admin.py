"""Admin for code exercises and submissions.

Exercises: the configuration is validated against the kind's (model ``clean``), and the action
"Grade the reference solution" runs the kind's reference solution through the sandbox; only full marks
let the exercise be published. Submissions: filters by state, exercise and learner, the event history
inline, and an action to requeue.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from grader.models import CodeExercise, Submission, SubmissionEvent
from grader.submissions import services


@admin.register(CodeExercise)
class CodeExerciseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "lesson", "kind", "needs_gpu", "is_published", "reference_ok"]
    list_filter = ["kind", "is_published", "needs_gpu", "lesson"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["grade_reference_solution"]

    @admin.display(boolean=True, description="reference solution scores full marks")
    def reference_ok(self, exercise: CodeExercise) -> bool:
        return exercise.reference_is_current

    @admin.action(description="Grade the reference solution (needed before publishing)")
    def grade_reference_solution(self, request: HttpRequest, queryset: QuerySet[CodeExercise]) -> None:
        for exercise in queryset:
            outcome = services.check_reference_solution(exercise)
            if exercise.reference_is_current:
                self.message_user(request, f"{exercise.slug}: full marks ({outcome.score:g}); it can be published.")
            else:
                scored = f"scored {outcome.score:g}/{outcome.max_score:g}" if outcome.score is not None else outcome.verdict
                self.message_user(
                    request, f"{exercise.slug}: the reference solution {scored}: {outcome.feedback}", messages.ERROR
                )


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    can_delete = False
    fields = ["at", "from_state", "to_state", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Submission | None = None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["id", "learner", "exercise", "attempt", "state", "score", "created_at", "deliveries", "worker", "device"]
    list_filter = ["state", "exercise", "learner", "device"]
    search_fields = ["id", "learner__username", "exercise__slug"]
    date_hierarchy = "created_at"
    list_select_related = ["learner", "exercise"]
    inlines = [SubmissionEventInline]
    actions = ["requeue"]

    def get_readonly_fields(self, request: HttpRequest, obj: Submission | None = None) -> list[str]:
        return [field.name for field in Submission._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Requeue (grade again from scratch)")
    def requeue(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        for submission in queryset:
            services.requeue(submission, by=f"admin {request.user}")
        self.message_user(request, f"Requeued {len(queryset)} submission(s).")
