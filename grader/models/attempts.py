"""Learners' attempts at quiz questions and numeric / self-assessed problems.

Grading logic lives in ``grader.attempts``; these rows record what was submitted and what it scored,
with enough detail (selected labels, typed text, the learner's variant) to show feedback later and to
analyse items without re-grading.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from courses.models import PracticeProblem, Question, Quiz, RubricPoint, WorkedExample

__all__ = ["QuizAttempt", "ProblemAttempt", "QuestionResponse", "SelfAssessment"]


class QuizAttempt(models.Model):
    """One submission of a whole quiz; ``number`` counts the learner's attempts at that quiz from 1."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    score = models.FloatField(help_text="Fraction of the quiz answered correctly, 0 to 1.")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quiz", "learner", "number"]
        constraints = [
            # Also what stops two concurrent submissions from exceeding the attempts allowed.
            models.UniqueConstraint(fields=["learner", "quiz", "number"], name="unique_quiz_attempt_number")
        ]

    def __str__(self) -> str:
        return f"{self.learner} · {self.quiz} · attempt {self.number}"


class ProblemAttempt(models.Model):
    """One submission of a graded worked example or practice problem (numeric parts or one choice question)."""

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="problem_attempts")
    worked_example = models.ForeignKey(
        WorkedExample, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    practice_problem = models.ForeignKey(
        PracticeProblem, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveSmallIntegerField()
    answers = models.JSONField(default=dict, blank=True, help_text="Per part key, the text the learner typed.")
    part_results = models.JSONField(
        default=dict, blank=True, help_text="Per part key: the value read, the expected value, whether it passed."
    )
    variant = models.JSONField(default=dict, blank=True, help_text="The learner's numbers, as shown in the statement.")
    score = models.FloatField(help_text="Weighted fraction of parts answered correctly, 0 to 1.")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["learner", "submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(worked_example__isnull=False, practice_problem__isnull=True)
                | models.Q(worked_example__isnull=True, practice_problem__isnull=False),
                name="problem_attempt_has_exactly_one_item",
            ),
            models.UniqueConstraint(
                fields=["learner", "worked_example", "number"], name="unique_worked_example_attempt_number"
            ),
            models.UniqueConstraint(
                fields=["learner", "practice_problem", "number"], name="unique_practice_problem_attempt_number"
            ),
        ]

    @property
    def item(self) -> WorkedExample | PracticeProblem:
        return self.worked_example or self.practice_problem

    def __str__(self) -> str:
        return f"{self.learner} · {self.item} · attempt {self.number}"


class QuestionResponse(models.Model):
    """The choices picked for one question, inside a quiz attempt or a worked example's attempt."""

    quiz_attempt = models.ForeignKey(
        QuizAttempt, null=True, blank=True, on_delete=models.CASCADE, related_name="responses"
    )
    problem_attempt = models.ForeignKey(
        ProblemAttempt, null=True, blank=True, on_delete=models.CASCADE, related_name="responses"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="responses")
    selected = models.JSONField(default=list, help_text='Labels of the chosen choices, e.g. ["B"].')
    score = models.FloatField(help_text="0 to 1; multiple-answer questions earn partial credit.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quiz_attempt__isnull=False, problem_attempt__isnull=True)
                | models.Q(quiz_attempt__isnull=True, problem_attempt__isnull=False),
                name="question_response_has_exactly_one_attempt",
            )
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {', '.join(self.selected)}"


class SelfAssessment(models.Model):
    """A written answer to a conceptual problem, then the rubric points the learner says it made.

    Written first (``assessed_at`` empty), the reference answer and rubric are shown only after that.
    """

    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="self_assessments")
    practice_problem = models.ForeignKey(PracticeProblem, on_delete=models.CASCADE, related_name="self_assessments")
    response = models.TextField(help_text="What the learner wrote before seeing the reference answer.")
    points_made = models.ManyToManyField(RubricPoint, blank=True, related_name="+")
    score = models.FloatField(null=True, blank=True, help_text="Weighted fraction of rubric points ticked, 0 to 1.")
    written_at = models.DateTimeField(auto_now_add=True)
    assessed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "practice_problem"], name="one_self_assessment_per_problem")
        ]

    def __str__(self) -> str:
        return f"{self.learner} · {self.practice_problem}"
