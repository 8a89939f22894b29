"""Authoring in the admin: a lesson page holds its sections as inlines; graded items, quizzes and
questions have their own pages for what nests deeper (answer parts, rubric points, choices)."""

from django.contrib import admin

from courses.models import (
    AnswerPart,
    Choice,
    CoreBlock,
    Course,
    KeyTerm,
    LearningObjective,
    Lesson,
    Phase,
    Pitfall,
    PracticeProblem,
    Question,
    Quiz,
    RubricPoint,
    WorkedExample,
)
from grader.attempts.forms import GeneratorChoiceForm


class OrderedInline(admin.StackedInline):
    extra = 0
    show_change_link = True


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PhaseInline]


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "course"]
    list_filter = ["course"]


class ObjectiveInline(admin.TabularInline):
    model = LearningObjective
    extra = 0
    fields = ["order", "text"]


class CoreBlockInline(OrderedInline):
    model = CoreBlock
    fields = ["order", "heading", "style", "body"]


class KeyTermInline(admin.TabularInline):
    model = KeyTerm
    extra = 0
    fields = ["order", "term", "anchor", "definition"]


class WorkedExampleInline(OrderedInline):
    model = WorkedExample
    fields = ["order", "title", "statement", "solution", "answer", "grading"]


class PracticeProblemInline(OrderedInline):
    model = PracticeProblem
    fields = ["order", "title", "statement", "solution", "answer", "grading"]


class PitfallInline(OrderedInline):
    model = Pitfall
    fields = ["order", "title", "body"]


class QuizInline(admin.StackedInline):
    model = Quiz
    extra = 0
    show_change_link = True


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "phase", "status", "updated_at"]
    list_filter = ["status", "phase__course", "phase"]
    search_fields = ["code", "title"]
    filter_horizontal = ["prerequisite_lessons"]
    fieldsets = [
        (None, {"fields": ["phase", "code", "title", "status"]}),
        ("Place in the course", {"fields": ["prerequisites", "prerequisite_lessons", "previous_lesson", "next_lesson"]}),
        ("Closing sections", {"fields": ["summary", "next_steps"]}),
    ]
    inlines = [
        ObjectiveInline,
        CoreBlockInline,
        KeyTermInline,
        WorkedExampleInline,
        PracticeProblemInline,
        QuizInline,
        PitfallInline,
    ]
    save_on_top = True


class AnswerPartInline(admin.TabularInline):
    model = AnswerPart
    extra = 0
    fields = ["order", "key", "prompt", "expected", "abs_tolerance", "rel_tolerance", "sig_figs", "weight"]


class ExampleQuestionInline(admin.StackedInline):
    model = Question
    fk_name = "worked_example"
    fields = ["kind", "prompt"]
    extra = 0
    max_num = 1
    show_change_link = True


class GradedItemAdmin(admin.ModelAdmin):
    form = GeneratorChoiceForm  # variant generators are grader plug-ins
    list_display = ["title", "lesson", "order", "grading"]
    list_filter = ["grading", "lesson"]
    fieldsets = [
        (None, {"fields": ["lesson", "order", "title", "statement"]}),
        ("Hidden until revealed", {"fields": ["solution", "answer"]}),
        ("Grading", {"fields": ["grading", "generator", "generator_params", "attempts_per_minute"]}),
    ]


@admin.register(WorkedExample)
class WorkedExampleAdmin(GradedItemAdmin):
    inlines = [AnswerPartInline, ExampleQuestionInline]


class RubricPointInline(admin.TabularInline):
    model = RubricPoint
    extra = 0
    fields = ["order", "text", "weight"]


@admin.register(PracticeProblem)
class PracticeProblemAdmin(GradedItemAdmin):
    inlines = [AnswerPartInline, RubricPointInline]


class QuestionInline(admin.StackedInline):
    model = Question
    fk_name = "quiz"
    fields = ["order", "kind", "prompt"]
    extra = 0
    show_change_link = True


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["__str__", "attempts_allowed", "attempts_per_minute", "feedback_timing", "shuffle_choices"]
    inlines = [QuestionInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0
    fields = ["order", "label", "text", "is_correct", "explanation"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiz", "worked_example", "kind"]
    fields = ["quiz", "worked_example", "order", "kind", "prompt"]
    inlines = [ChoiceInline]
