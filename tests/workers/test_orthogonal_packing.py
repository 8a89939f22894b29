"""orthogonal-packing through the real sandbox: the reference packing scores full marks, weak or invalid ones do not."""

import pytest

from workers.exercises.orthogonal_packing import OrthogonalPacking
from workers.grading import Verdict, grade_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)


def grade(code, **config):
    return grade_code("orthogonal-packing", config, code, LIMITS)


def test_the_reference_packing_reaches_the_target_and_scores_full_marks():
    outcome = grade(OrthogonalPacking.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.metrics["count"] >= 48
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["figures"]["pairwise cosines"].startswith("data:image/png;base64,")


def test_an_orthonormal_basis_is_valid_but_scores_a_third():
    outcome = grade(OrthogonalPacking.starter_code)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.checks["all pairs within epsilon"]["passed"]
    assert not outcome.checks["count"]["passed"]
    assert outcome.score == pytest.approx(16 / 48)


def test_one_pair_above_epsilon_scores_zero_and_names_the_pair():
    code = "import torch\n\ndef pack_vectors(d, epsilon):\n    return torch.cat([torch.eye(d), torch.ones(1, d)])\n"
    outcome = grade(code, d=4, epsilon=0.3, target=8)
    assert outcome.score == 0.0
    assert "4 pair(s) exceed ε; the worst is rows 0 and 4 with |cos| = 0.5000" in outcome.feedback


def test_random_vectors_score_low():
    code = "import torch\n\ndef pack_vectors(d, epsilon):\n    return torch.randn(60, d)\n"
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED and outcome.score == 0.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return torch.full((20, d), float('nan'))", "vectors: expected finite values, got NaN at index [0, 0]"),
        ("return torch.eye(d)[:, :3]", "vectors: expected a tensor of shape [*, 16], got [16, 3]"),
        ("return torch.zeros(2, d)", "vectors: row 0 is zero; a zero vector has no direction"),
        ("return 'many'", "vectors: expected a tensor, got a str"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(body, message):
    outcome = grade(f"import torch\n\ndef pack_vectors(d, epsilon):\n    {body}\n")
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)


def test_a_missing_function_is_named():
    outcome = grade("def pack(d, epsilon):\n    return None\n")
    assert outcome.verdict == Verdict.FAILED
    assert "your code must define a function pack_vectors(d, epsilon)" in outcome.feedback
