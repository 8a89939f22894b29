"""What is taught: Course → Phase → Lesson → ordered, typed sections of content.

A lesson's sections are fixed in kind and shown in this order: objectives, core content, key terms,
worked examples, practice problems, quiz, pitfalls, summary, next steps. Each section is a list of
rows ordered by an explicit ``order`` field so instructors can reorder in the admin. All prose is
Markdown with $inline$ and $$display$$ LaTeX, rendered server-side (see ``courses.rendering``).

Grading *configuration* of problems (numeric parts, tolerances, variant generators, rubrics) is
content an instructor authors, so it lives here; grading *logic* and learners' attempts live in
``grader``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse


class OrderedRow(models.Model):
    """A row inside a lesson section, placed by an explicit instructor-editable order."""

    order = models.PositiveIntegerField(default=0, help_text="Position within its section; lower comes first.")

    class Meta:
        abstract = True
        ordering = ["order", "pk"]


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")

    def __str__(self) -> str:
        return self.title


class Phase(models.Model):
    """A numbered part of a course, e.g. "25 — Frontiers & Active Research Areas"."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)

    class Meta:
        ordering = ["course", "number"]
        constraints = [models.UniqueConstraint(fields=["course", "number"], name="unique_phase_number_per_course")]

    def __str__(self) -> str:
        return f"{self.number} — {self.title}"


class Lesson(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (instructors only)"
        UPCOMING = "upcoming", "Upcoming (listed, not yet open)"
        PUBLISHED = "published", "Published"

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="lessons")
    code = models.CharField(max_length=20, unique=True, help_text='Stable identifier, e.g. "25-01".')
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    prerequisites = models.TextField(blank=True, help_text="Markdown, e.g. phases or lessons to know first.")
    prerequisite_lessons = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="unlocks")
    previous_lesson = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_lesson = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.TextField(blank=True, help_text="Markdown shown in the Summary section.")
    next_steps = models.TextField(blank=True, help_text="Markdown shown in the Next Steps section.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("courses:lesson", kwargs={"code": self.code})


class LearningObjective(OrderedRow):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="objectives")
    text = models.TextField(help_text="Markdown.")

    class Meta(OrderedRow.Meta):
        pass

    def __str__(self) -> str:
        return self.text[:80]


class CoreBlock(OrderedRow):
    """One part of the core content: an optional heading and its Markdown body."""

    class Style(models.TextChoices):
        PROSE = "prose", "Prose"
        CALLOUT = "callout", "Callout (highlighted note)"

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="core_blocks")
    heading = models.CharField(max_length=200, blank=True)
    style = models.CharField(max_length=10, choices=Style.choices, default=Style.PROSE)
    body = models.TextField(help_text="Markdown with $…$ and $$…$$ math; figures as ![alt](figure:NAME).")

    class Meta(OrderedRow.Meta):
        pass

    def __str__(self) -> str:
        return self.heading or self.body[:60]


class KeyTerm(OrderedRow):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="key_terms")
    term = models.CharField(max_length=120)
    anchor = models.SlugField(max_length=120, help_text="Link target on the lesson page: #term-<anchor>.")
    definition = models.TextField(help_text="Markdown.")

    class Meta(OrderedRow.Meta):
        constraints = [models.UniqueConstraint(fields=["lesson", "anchor"], name="unique_key_term_anchor")]

    def __str__(self) -> str:
        return self.term


class Pitfall(OrderedRow):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="pitfalls")
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")

    class Meta(OrderedRow.Meta):
        pass

    def __str__(self) -> str:
        return self.title


class GradedItem(OrderedRow):
    """Shared fields of worked examples and practice problems: a statement and a hidden answer.

    ``generator`` names a trusted variant generator (``grader.variants``) that draws per-learner
    numbers; its parameters are ``generator_params``. Blank means every learner sees the same numbers.
    """

    class Grading(models.TextChoices):
        NONE = "none", "Not graded (read only)"
        NUMERIC = "numeric", "Numeric parts with tolerances"
        CHOICE = "choice", "Choice question"
        SELF_ASSESSED = "self", "Self-assessed against a rubric"

    title = models.CharField(max_length=200)
    statement = models.TextField(help_text="Markdown. With a generator, {{name}} placeholders are filled per learner.")
    solution = models.TextField(blank=True, help_text="Markdown; hidden until the learner reveals it or answers.")
    answer = models.TextField(blank=True, help_text="Markdown; the short answer, hidden behind a reveal.")
    grading = models.CharField(max_length=10, choices=Grading.choices, default=Grading.NONE)
    generator = models.CharField(max_length=80, blank=True)
    generator_params = models.JSONField(default=dict, blank=True)
    attempts_per_minute = models.PositiveSmallIntegerField(
        default=10, help_text="Attempts one learner may submit in any minute (against guessing by script); 0 means no limit."
    )

    class Meta(OrderedRow.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.title


class WorkedExample(GradedItem):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="worked_examples")

    class Meta(GradedItem.Meta):
        pass


class PracticeProblem(GradedItem):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="practice_problems")

    class Meta(GradedItem.Meta):
        pass


class AnswerPart(OrderedRow):
    """One numeric answer box of a worked example or practice problem.

    ``expected`` is a number or a list of numbers (a vector). With a generator the expected value
    comes from the generator's output under ``key`` instead. Tolerances: a value passes if it is
    within ``abs_tolerance`` OR within ``rel_tolerance`` (either may be blank); ``sig_figs``, when
    set, instead requires agreement to that many significant figures.
    """

    worked_example = models.ForeignKey(
        WorkedExample, null=True, blank=True, on_delete=models.CASCADE, related_name="parts"
    )
    practice_problem = models.ForeignKey(
        PracticeProblem, null=True, blank=True, on_delete=models.CASCADE, related_name="parts"
    )
    key = models.SlugField(max_length=60, help_text="Identifier of the part; also the generator output it reads.")
    prompt = models.CharField(max_length=300, help_text="Label shown next to the answer box (Markdown inline).")
    expected = models.JSONField(null=True, blank=True, help_text="Number or list of numbers; blank with a generator.")
    abs_tolerance = models.FloatField(null=True, blank=True)
    rel_tolerance = models.FloatField(null=True, blank=True)
    sig_figs = models.PositiveSmallIntegerField(null=True, blank=True)
    weight = models.FloatField(default=1.0)

    class Meta(OrderedRow.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(worked_example__isnull=False, practice_problem__isnull=True)
                | models.Q(worked_example__isnull=True, practice_problem__isnull=False),
                name="answer_part_has_exactly_one_owner",
            )
        ]

    def clean(self) -> None:
        if self.abs_tolerance is None and self.rel_tolerance is None and self.sig_figs is None:
            raise ValidationError("Set an absolute tolerance, a relative tolerance or significant figures.")

    def __str__(self) -> str:
        return self.key


class RubricPoint(OrderedRow):
    """A point a self-assessed answer should make; learners tick the ones their answer made."""

    practice_problem = models.ForeignKey(PracticeProblem, on_delete=models.CASCADE, related_name="rubric")
    text = models.TextField(help_text="Markdown.")
    weight = models.FloatField(default=1.0)

    class Meta(OrderedRow.Meta):
        pass

    def __str__(self) -> str:
        return self.text[:60]


class Quiz(models.Model):
    class FeedbackTiming(models.TextChoices):
        EACH_ATTEMPT = "each", "After each attempt"
        LAST_ATTEMPT = "last", "Only after the last allowed attempt"

    lesson = models.OneToOneField(Lesson, on_delete=models.CASCADE, related_name="quiz")
    title = models.CharField(max_length=200, default="Quiz")
    attempts_allowed = models.PositiveSmallIntegerField(default=3, help_text="0 means unlimited.")
    attempts_per_minute = models.PositiveSmallIntegerField(
        default=5, help_text="Attempts one learner may submit in any minute (against guessing by script); 0 means no limit."
    )
    shuffle_choices = models.BooleanField(default=False, help_text="Shuffled once per learner, stable afterwards.")
    feedback_timing = models.CharField(max_length=4, choices=FeedbackTiming.choices, default=FeedbackTiming.EACH_ATTEMPT)

    class Meta:
        verbose_name_plural = "quizzes"

    def __str__(self) -> str:
        return f"{self.lesson.code}: {self.title}"


class Question(OrderedRow):
    """A choice question. Belongs to a quiz, or stands for a worked example graded as a choice."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Single answer"
        MULTIPLE = "multiple", "Multiple answers"

    quiz = models.ForeignKey(Quiz, null=True, blank=True, on_delete=models.CASCADE, related_name="questions")
    worked_example = models.OneToOneField(
        WorkedExample, null=True, blank=True, on_delete=models.CASCADE, related_name="question"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SINGLE)
    prompt = models.TextField(help_text="Markdown.")

    class Meta(OrderedRow.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quiz__isnull=False, worked_example__isnull=True)
                | models.Q(quiz__isnull=True, worked_example__isnull=False),
                name="question_has_exactly_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.prompt[:80]


class Choice(OrderedRow):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    label = models.CharField(max_length=4, help_text='Shown before the text, e.g. "A".')
    text = models.TextField(help_text="Markdown.")
    is_correct = models.BooleanField(default=False)
    explanation = models.TextField(help_text="Markdown; shown after an attempt, for this choice.")

    class Meta(OrderedRow.Meta):
        constraints = [models.UniqueConstraint(fields=["question", "label"], name="unique_choice_label")]

    def __str__(self) -> str:
        return f"{self.label}. {self.text[:60]}"
