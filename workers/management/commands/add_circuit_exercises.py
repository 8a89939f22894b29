"""manage.py add_circuit_exercises — put lesson 25-01's exercises on real circuits on its pages.

Creates (or updates) the code exercises for causal scrubbing, superposition packing, almost-orthogonal
packing and the induction-circuit knockout on lesson 25-01, grades each kind's reference solution through
the sandbox exactly as a submission is graded, and publishes the ones whose reference scores full marks
(the same rule as the admin's "grade the reference solution"). Needs a worker sandbox that preloads the
reference models (``workers.reference_models.preload``).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from courses.models import Lesson
from grader.models import CodeExercise
from workers.grading import Verdict, grade_exercise

LESSON = "25-01"

EXERCISES = [
    {
        "slug": "scrub-induction",
        "title": "Causal scrubbing of an induction head",
        "kind": "scrub-induction",
        "config": {},
        "statement": (
            "Worked Example 3 and Practice Problem 5 made runnable. State a hypothesis about one induction head "
            "of the reference model as a **resampling**: inputs on which, by your hypothesis, the head's output "
            "at a position is unchanged. The grader patches the head's output in from your inputs and measures "
            "how much of the loss you recover; a control that your hypothesis says should break the behaviour "
            "must break it. Use **Run without grading** to look at the model's attention patterns first."
        ),
    },
    {
        "slug": "superposition-toy-5x2",
        "title": "Superposition: five features in two dimensions",
        "kind": "superposition-toy",
        "config": {"n_features": 5, "d_hidden": 2, "sparsity": 0.9},
        "statement": (
            "Problems 1 and 4 and the superposition hypothesis: with sparse features, a model can represent more "
            "features than it has dimensions. Choose the feature directions $W$ (5 × 2) of the toy model "
            "$\\mathrm{ReLU}(W W^\\top x + b)$ at sparsity 0.9 so that its reconstruction loss beats keeping "
            "only two features. What shape do the five directions make?"
        ),
    },
    {
        "slug": "superposition-toy-20x5",
        "title": "Superposition: twenty features in five dimensions",
        "kind": "superposition-toy",
        "config": {"n_features": 20, "d_hidden": 5, "sparsity": 0.9},
        "statement": (
            "The same toy model with 20 features of decreasing importance in 5 dimensions at sparsity 0.9. "
            "Which features get a direction, and how much do they interfere?"
        ),
    },
    {
        "slug": "orthogonal-packing",
        "title": "Almost-orthogonal packing",
        "kind": "orthogonal-packing",
        "config": {},
        "statement": (
            "Only $d$ vectors in $\\mathbb{R}^d$ can be exactly orthogonal, but many more can be *almost* "
            "orthogonal, which is why superposition works. Return as many vectors in $\\mathbb{R}^{16}$ as you "
            "can with every pairwise $|\\cos| \\le 0.25$."
        ),
    },
    {
        "slug": "induction-circuit",
        "title": "Knock out the induction circuit, in any model",
        "kind": "induction-circuit",
        "config": {},
        "statement": (
            "Practice Problem 3 (necessity, sufficiency) and universality in practice: write a function that "
            "finds the heads of the induction circuit in an induction model. It is run on the reference model "
            "and on a second model you never see, whose circuit sits at other head indices."
        ),
    },
]
LIMITS = {"wall_seconds": 60.0, "cpu_seconds": 60.0, "memory_mb": 2048, "max_output_kb": 256}


class Command(BaseCommand):
    help = "Adds lesson 25-01's circuit exercises, grades their reference solutions and publishes those that pass."

    def handle(self, *args, **options) -> None:
        lesson = Lesson.objects.filter(code=LESSON).first()
        if lesson is None:
            raise CommandError(f"lesson {LESSON} is not in the database; import it first (manage.py import_lesson)")
        for order, values in enumerate(EXERCISES, start=100):
            fields = {key: value for key, value in values.items() if key != "slug"}
            exercise, created = CodeExercise.objects.update_or_create(
                slug=values["slug"], defaults={"lesson": lesson, "order": order, **fields, **LIMITS}
            )
            outcome = grade_exercise(exercise, exercise.grader().reference_solution)
            full = outcome.verdict == Verdict.GRADED and outcome.score == outcome.max_score
            exercise.reference_checked = exercise.grading_fingerprint() if full else ""
            exercise.is_published = full
            exercise.save()
            verdict = "published" if full else f"NOT published (reference: {outcome.verdict}, {outcome.feedback[:200]})"
            self.stdout.write(f"{'added' if created else 'updated'} {exercise.slug}: {verdict}")
