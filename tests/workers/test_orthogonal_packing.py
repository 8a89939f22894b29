"""orthogonal-packing through the real sandbox: the reference packing scores full marks, weak or invalid ones do
not, and the geometry is scale-free: no magnitude of the rows changes the grade or can forge one."""

import pytest

from workers.exercises.orthogonal_packing import OrthogonalPacking
from workers.grading import Verdict, grade_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)


def grade(code, limits=LIMITS, **config):
    return grade_code("orthogonal-packing", config, code, limits)


def packing(body: str) -> str:
    return f"import torch\n\ndef pack_vectors(d, epsilon):\n    {body}\n"


def test_the_reference_packing_reaches_the_target_and_scores_full_marks():
    outcome = grade(OrthogonalPacking.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.metrics["count"] >= 48
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["figures"]["pairwise cosines"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("scale", ["4e-14 / U.norm(dim=1, keepdim=True)", "1e-30", "1e30"])
def test_cosines_are_scale_free_so_tiny_or_huge_rows_of_a_good_packing_score_the_same(scale):
    code = OrthogonalPacking.reference_solution.replace("return U[keep]", f"return U[keep].double() * {scale}")
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED, outcome.feedback
    assert outcome.metrics["count"] >= 48 and outcome.score == 1.0


def test_identical_rows_of_1e200_are_one_direction_many_times_and_score_zero():
    outcome = grade(packing("return torch.full((4000, d), 1e200, dtype=torch.float64)"))
    assert outcome.verdict == Verdict.GRADED
    assert outcome.score == 0.0
    assert outcome.metrics["max_abs_cos"] == 1.0
    assert "|cos| = 1.0000" in outcome.feedback


def test_a_duplicated_row_is_a_violation():
    outcome = grade(packing("return torch.cat([torch.eye(d), torch.eye(d)[:1] * 3])"))
    assert outcome.score == 0.0
    assert "1 pair(s) exceed ε; the worst is rows 0 and 16 with |cos| = 1.0000" in outcome.feedback


def test_an_orthonormal_basis_is_valid_but_scores_a_third():
    outcome = grade(OrthogonalPacking.starter_code)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.checks["all pairs within epsilon"]["passed"]
    assert not outcome.checks["count"]["passed"]
    assert outcome.score == pytest.approx(16 / 48)


def test_one_pair_above_epsilon_scores_zero_and_names_the_pair():
    outcome = grade(packing("return torch.cat([torch.eye(d), torch.ones(1, d)])"), d=4, epsilon=0.3, target=8)
    assert outcome.score == 0.0
    assert "4 pair(s) exceed ε; the worst is rows 0 and 4 with |cos| = 0.5000" in outcome.feedback


def test_random_vectors_score_low():
    outcome = grade(packing("return torch.randn(60, d)"))
    assert outcome.verdict == Verdict.GRADED and outcome.score == 0.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return torch.full((20, d), float('nan'))",
         "vectors: expected finite values, got NaN at index [0, 0] (320 of 320 values are not finite)"),
        ("return torch.eye(d) * float('inf')", "vectors: expected finite values, got infinity at index [0, 0]"),
        ("return torch.eye(d)[:, :3]", "vectors: expected a tensor of shape [1..4000, 16], got shape [16, 3]"),
        ("return torch.ones(4001, d)", "vectors: expected a tensor of shape [1..4000, 16], got shape [4001, 16]"),
        ("return torch.cat([torch.eye(d), torch.zeros(1, d)])",
         "vectors: row 16 is zero; a zero vector has no direction (1 of 17 rows are zero)"),
        ("return 'many'", "vectors: expected a tensor of shape [1..4000, 16], got a str"),
        ("return None", "vectors: expected a tensor of shape [1..4000, 16], got None"),
        ("return [[1.0] * d, [1.0]]", "vectors: expected a tensor of shape [1..4000, 16], got a ragged list"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(body, message):
    outcome = grade(packing(body))
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)


def test_a_big_endian_array_is_graded_like_a_native_one():
    outcome = grade(packing("return torch.eye(d).numpy().astype('>f8')"))
    assert outcome.verdict == Verdict.GRADED and outcome.score == pytest.approx(16 / 48)


def test_an_exception_fails_with_its_line():
    outcome = grade(packing("raise ValueError('not yet')"))
    assert outcome.verdict == Verdict.FAILED
    assert "ValueError: not yet" in outcome.feedback


def test_an_endless_loop_is_rejected_at_the_time_limit():
    limits = Limits(wall_seconds=1, cpu_seconds=1, memory_bytes=1024**3)
    assert grade(packing("while True:\n        pass"), limits=limits).verdict == Verdict.REJECTED


def test_a_missing_function_is_named():
    outcome = grade("def pack(d, epsilon):\n    return None\n")
    assert outcome.verdict == Verdict.FAILED
    assert "your code must define a function pack_vectors(d, epsilon)" in outcome.feedback
