"""Reads: what a learner sees of a quiz or problem, their variant, progress, the gradebook, item analysis.

Visibility rules live here so pages and the API apply the same ones: correct answers and explanations
become visible only through an attempt's feedback, and only when the quiz's feedback timing allows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Max, Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from courses.models import AnswerPart, Choice, GradedItem, Lesson, PracticeProblem, Question, Quiz, WorkedExample
from grader.attempts.answers import Value
from grader.attempts.seeds import learner_rng
from grader.attempts.variants.base import Variant
from grader.attempts.variants.registry import get_generator
from grader.models import ProblemAttempt, QuestionResponse, QuizAttempt, SelfAssessment

#: URL segment of each kind of graded item
ITEM_KINDS: dict[str, type[GradedItem]] = {"worked-example": WorkedExample, "practice-problem": PracticeProblem}


def item_kind(item: GradedItem) -> str:
    return "worked-example" if isinstance(item, WorkedExample) else "practice-problem"


def item_field(item: GradedItem) -> str:
    """The name of the foreign key to ``item`` on ProblemAttempt."""
    return item_kind(item).replace("-", "_")


def published_quiz(pk: int) -> Quiz:
    """A quiz of a published lesson, or 404: pages and the API answer the same."""
    return get_object_or_404(Quiz.objects.select_related("lesson"), pk=pk, lesson__status=Lesson.Status.PUBLISHED)


def graded_item(kind: str, pk: int, *, published: bool = True) -> GradedItem:
    """A graded item by URL kind and id, or 404; learners only reach those of published lessons."""
    if kind not in ITEM_KINDS:
        raise Http404(f"No kind of problem {kind!r}.")
    items = ITEM_KINDS[kind].objects.exclude(grading=GradedItem.Grading.NONE).select_related("lesson")
    if published:
        items = items.filter(lesson__status=Lesson.Status.PUBLISHED)
    return get_object_or_404(items, pk=pk)


# --- variants -------------------------------------------------------------------------------------


def learner_variant(learner_id: int, item: GradedItem) -> Variant | None:
    """The learner's own numbers for an item backed by a generator; None when everyone sees the same."""
    if not item.generator:
        return None
    rng = learner_rng(learner_id, f"variant:{item_field(item)}:{item.pk}")
    return get_generator(item.generator).variant(rng, item.generator_params)


def expected_answers(parts: Iterable[AnswerPart], variant: Variant | None) -> dict[str, Value]:
    return {part.key: variant.answers[part.key] if variant else part.expected for part in parts}


# --- quizzes --------------------------------------------------------------------------------------


def choices_in_order(question: Question, learner_id: int, shuffle: bool) -> list[Choice]:
    """The question's choices as this learner sees them: shuffled once per learner, then stable."""
    choices = list(question.choices.all())
    if shuffle:
        learner_rng(learner_id, f"shuffle:question:{question.pk}").shuffle(choices)
    return choices


def quiz_questions(quiz: Quiz) -> list[Question]:
    return list(quiz.questions.prefetch_related("choices"))


@dataclass
class QuestionView:
    question: Question
    number: int
    choices: list[Choice]
    #: the learner's response in their latest attempt, if any
    response: QuestionResponse | None = None
    #: labels just posted but not accepted, shown again so the learner can correct them
    posted: list[str] | None = None

    @property
    def name(self) -> str:
        return f"Question {self.number}"

    @property
    def selected(self) -> list[str]:
        if self.posted is not None:
            return self.posted
        return self.response.selected if self.response else []


@dataclass
class QuizState:
    quiz: Quiz
    questions: list[QuestionView]
    attempts: list[QuizAttempt]

    @property
    def latest(self) -> QuizAttempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def attempts_left(self) -> int | None:
        """None when the quiz allows unlimited attempts."""
        if not self.quiz.attempts_allowed:
            return None
        return max(0, self.quiz.attempts_allowed - len(self.attempts))

    @property
    def can_attempt(self) -> bool:
        return self.attempts_left != 0

    @property
    def feedback_visible(self) -> bool:
        return feedback_visible(self.quiz, len(self.attempts), self.latest.score if self.latest else None)

    @property
    def best_score(self) -> float | None:
        return max((attempt.score for attempt in self.attempts), default=None)


def feedback_visible(quiz: Quiz, attempts_used: int, latest_score: float | None) -> bool:
    """Per-choice feedback shows after an attempt: each time, or once no attempt is left (or nothing is left to find)."""
    if latest_score is None:
        return False
    if quiz.feedback_timing == Quiz.FeedbackTiming.EACH_ATTEMPT or latest_score >= 1.0:
        return True
    return bool(quiz.attempts_allowed) and attempts_used >= quiz.attempts_allowed


def quiz_attempts(quiz: Quiz, learner_id: int) -> list[QuizAttempt]:
    return list(QuizAttempt.objects.filter(quiz=quiz, learner_id=learner_id).order_by("number"))


def quiz_state(
    quiz: Quiz, learner_id: int, questions: list[Question] | None = None, attempts: list[QuizAttempt] | None = None
) -> QuizState:
    """``questions`` (from :func:`quiz_questions`) and ``attempts`` (from :func:`quiz_attempts`) spare
    reloading them right after a submission."""
    attempts = quiz_attempts(quiz, learner_id) if attempts is None else attempts
    responses = {}
    if attempts:
        responses = {response.question_id: response for response in attempts[-1].responses.all()}
    questions = [
        QuestionView(question, number, choices_in_order(question, learner_id, quiz.shuffle_choices), responses.get(question.pk))
        for number, question in enumerate(quiz_questions(quiz) if questions is None else questions, start=1)
    ]
    return QuizState(quiz, questions, attempts)


# --- worked examples and practice problems -------------------------------------------------------


@dataclass
class ProblemState:
    item: GradedItem
    statement: str
    variant: Variant | None
    parts: list[AnswerPart]
    question: QuestionView | None
    attempts: list[ProblemAttempt]
    self_assessment: SelfAssessment | None = None
    #: text just posted but not accepted, shown again so the learner can correct it
    typed: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        return item_kind(self.item)

    @property
    def latest(self) -> ProblemAttempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def best_score(self) -> float | None:
        if self.self_assessment is not None:
            return self.self_assessment.score
        return max((attempt.score for attempt in self.attempts), default=None)

    @property
    def reference_visible(self) -> bool:
        """The solution, reference answer and rubric show once the learner has committed to an answer."""
        return bool(self.attempts) or self.self_assessment is not None

    @property
    def part_rows(self) -> list[tuple[AnswerPart, str, dict | None]]:
        """Each part with the text last typed and its result, for the answer form."""
        latest = self.latest
        if self.typed is not None:
            return [(part, self.typed.get(part.key, ""), None) for part in self.parts]
        return [
            (part, latest.answers.get(part.key, "") if latest else "", latest.part_results.get(part.key) if latest else None)
            for part in self.parts
        ]


def problem_state(item: GradedItem, learner_id: int) -> ProblemState:
    variant = learner_variant(learner_id, item)
    attempts = list(ProblemAttempt.objects.filter(learner_id=learner_id, **{item_field(item): item}).order_by("number"))
    question = None
    if item.grading == GradedItem.Grading.CHOICE:
        choice_question = Question.objects.prefetch_related("choices").get(worked_example=item)
        response = attempts[-1].responses.first() if attempts else None
        question = QuestionView(choice_question, 1, list(choice_question.choices.all()), response)
    self_assessment = None
    if item.grading == GradedItem.Grading.SELF_ASSESSED:
        self_assessment = (
            SelfAssessment.objects.prefetch_related("points_made").filter(learner_id=learner_id, practice_problem=item).first()
        )
    return ProblemState(
        item=item,
        statement=variant.fill(item.statement) if variant else item.statement,
        variant=variant,
        parts=list(item.parts.all()),
        question=question,
        attempts=attempts,
        self_assessment=self_assessment,
    )


# --- progress and the gradebook ------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRef:
    """Something in a lesson that earns a score: its quiz, or a graded worked example or practice problem."""

    key: tuple[str, int]
    lesson: Lesson
    title: str
    url: str


@dataclass(frozen=True)
class Score:
    best: float | None
    attempts: int
    done: bool


NOT_STARTED = Score(best=None, attempts=0, done=False)


def gradable_items(lessons: Iterable[Lesson]) -> list[ItemRef]:
    """In lesson order: worked examples, practice problems, then the quiz, as on the lesson page."""
    lessons = list(lessons)
    by_lesson: dict[int, list[ItemRef]] = defaultdict(list)
    for model, kind in ((WorkedExample, "worked-example"), (PracticeProblem, "practice-problem")):
        for item in model.objects.filter(lesson__in=lessons).exclude(grading=GradedItem.Grading.NONE).select_related("lesson"):
            url = reverse("grader:problem", kwargs={"kind": kind, "pk": item.pk})
            by_lesson[item.lesson_id].append(ItemRef((item_field(item), item.pk), item.lesson, item.title, url))
    for quiz in Quiz.objects.filter(lesson__in=lessons).select_related("lesson"):
        url = reverse("grader:quiz", kwargs={"pk": quiz.pk})
        by_lesson[quiz.lesson_id].append(ItemRef(("quiz", quiz.pk), quiz.lesson, quiz.title, url))
    return [ref for lesson in lessons for ref in by_lesson[lesson.pk]]


def scores(learner_ids: Iterable[int] | None = None) -> dict[tuple[int, tuple[str, int]], Score]:
    """Best score and number of attempts per (learner, item key); all learners when ``learner_ids`` is None."""

    def for_learners(queryset: QuerySet) -> QuerySet:
        return queryset if learner_ids is None else queryset.filter(learner_id__in=list(learner_ids))

    table: dict[tuple[int, tuple[str, int]], Score] = {}
    quiz_rows = for_learners(QuizAttempt.objects).values("learner_id", "quiz_id").annotate(best=Max("score"), n=Count("id"))
    for row in quiz_rows:
        table[row["learner_id"], ("quiz", row["quiz_id"])] = Score(row["best"], row["n"], True)
    for field_name in ("worked_example", "practice_problem"):
        rows = (
            for_learners(ProblemAttempt.objects.filter(**{f"{field_name}__isnull": False}))
            .values("learner_id", f"{field_name}_id")
            .annotate(best=Max("score"), n=Count("id"))
        )
        for row in rows:
            table[row["learner_id"], (field_name, row[f"{field_name}_id"])] = Score(row["best"], row["n"], True)
    for assessment in for_learners(SelfAssessment.objects).values("learner_id", "practice_problem_id", "score"):
        done = assessment["score"] is not None
        table[assessment["learner_id"], ("practice_problem", assessment["practice_problem_id"])] = Score(
            assessment["score"], 1, done
        )
    return table


@dataclass
class LessonProgress:
    lesson: Lesson
    items: list[tuple[ItemRef, Score]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(score.done for _, score in self.items)

    @property
    def score(self) -> float:
        """Mean of the items' best scores; an item not done counts as zero."""
        if not self.items:
            return 0.0
        return sum(score.best or 0.0 for _, score in self.items) / len(self.items)


def visible_lessons() -> QuerySet[Lesson]:
    return Lesson.objects.filter(status=Lesson.Status.PUBLISHED).select_related("phase__course")


def learner_progress(learner_id: int, lessons: Iterable[Lesson] | None = None) -> list[LessonProgress]:
    lessons = list(visible_lessons() if lessons is None else lessons)
    table = scores([learner_id])
    progress = {lesson.pk: LessonProgress(lesson) for lesson in lessons}
    for ref in gradable_items(lessons):
        progress[ref.lesson.pk].items.append((ref, table.get((learner_id, ref.key), NOT_STARTED)))
    return list(progress.values())


@dataclass
class Gradebook:
    items: list[ItemRef]
    #: (learner, one Score per item in ``items`` order)
    rows: list[tuple[Model, list[Score]]]


def gradebook(lessons: Iterable[Lesson] | None = None) -> Gradebook:
    """Every active learner (not staff) against every gradable item of the lessons, published ones by default."""
    items = gradable_items(visible_lessons() if lessons is None else lessons)
    learners = get_user_model().objects.filter(is_active=True, is_staff=False).order_by("username")
    table = scores()
    rows = [(learner, [table.get((learner.pk, ref.key), NOT_STARTED) for ref in items]) for learner in learners]
    return Gradebook(items, rows)


# --- item analysis -------------------------------------------------------------------------------


@dataclass
class QuestionAnalysis:
    question: Question
    responses: int
    mean_score: float | None
    #: (choice, times picked, share of responses that picked it)
    picks: list[tuple[Choice, int, float]]
    first_attempt_mean: float | None


def item_analysis(questions: Iterable[Question]) -> list[QuestionAnalysis]:
    """How often each choice was picked, the mean score, and the mean on learners' first attempts."""
    analyses = []
    for question in questions:
        responses = QuestionResponse.objects.filter(question=question)
        summary = responses.aggregate(n=Count("id"), mean=Avg("score"))
        first = responses.filter(quiz_attempt__number=1) if question.quiz_id else responses.filter(problem_attempt__number=1)
        counts = Counter(label for selected in responses.values_list("selected", flat=True) for label in selected)
        total = summary["n"] or 0
        picks = [(choice, counts[choice.label], counts[choice.label] / total if total else 0.0) for choice in question.choices.all()]
        analyses.append(
            QuestionAnalysis(question, total, summary["mean"], picks, first.aggregate(mean=Avg("score"))["mean"])
        )
    return analyses
