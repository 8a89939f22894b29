"""superposition-toy through the real sandbox: a trained packing passes; the baseline and random W do not,
and the learner's own bias is graded (the grader no longer fits one that rescues random directions)."""

import pytest

from workers.exercises.superposition_toy import SuperpositionToy
from workers.grading import Verdict, grade_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)
RANDOM_UNIT_ROWS = (
    "import torch\n\n"
    "def toy_model(n_features, d_hidden, sparsity, importance):\n"
    "    torch.manual_seed(0)\n"
    "    W = torch.randn(n_features, d_hidden)\n"
    "    return W / W.norm(dim=1, keepdim=True)\n"
)
RANDOM_W_AND_B = RANDOM_UNIT_ROWS.replace("    return W / W.norm(dim=1, keepdim=True)\n",
                                          "    return W, 0.5 * torch.randn(n_features)\n")


def grade(code, **config):
    return grade_code("superposition-toy", config, code, LIMITS)


def test_training_the_toy_model_scores_full_marks_and_finds_the_pentagon():
    outcome = grade(SuperpositionToy.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.metrics["ratio"] >= 0.9
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["features_represented"] == 5  # five features in two dimensions
    assert set(outcome.metrics["figures"]) == {"Gram matrix W Wᵀ", "feature directions"}


def test_the_orthogonal_baseline_scores_zero():
    outcome = grade(SuperpositionToy.starter_code)
    assert outcome.verdict == Verdict.GRADED
    assert outcome.metrics["ratio"] <= 0.02
    assert outcome.score == pytest.approx(0.0, abs=0.01)
    assert outcome.metrics["features_represented"] == 2


def test_random_unit_directions_alone_are_not_an_answer_the_grader_completes():
    outcome = grade(RANDOM_UNIT_ROWS)
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback == "toy_model(sparsity=0.9).b: expected a bias of shape [5], got nothing, return the pair W, b"


@pytest.mark.parametrize("config", [{}, {"n_features": 20, "d_hidden": 5}], ids=["5x2", "20x5"])
def test_random_directions_with_a_random_bias_fall_short(config):
    outcome = grade(RANDOM_W_AND_B, **config)
    assert outcome.verdict == Verdict.GRADED
    assert not outcome.checks["share of the reference's improvement at sparsity 0.9"]["passed"]
    assert outcome.score < 0.5
    assert "try a few seeds" in outcome.feedback


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("torch.full((n_features, d_hidden), float('nan'))", "W: expected finite values, got NaN at index [0, 0]"),
        ("torch.eye(d_hidden, n_features)", "W: expected a tensor of shape [5, 2], got shape [2, 5]"),
        ("(torch.eye(n_features, d_hidden), torch.zeros(3))", "b: expected a bias of shape [5], got shape [3]"),
        ("None", "W: expected a tensor of shape [5, 2], got None"),
        ("torch.full((n_features, d_hidden), 1e30)",
         "W: expected values of magnitude at most 1000, got 1e+30 (10 of 10 values are larger"),
        ("(torch.eye(n_features, d_hidden), torch.full((n_features,), 1e300, dtype=torch.float64))",
         "b: expected values of magnitude at most 1e+06, got 1e+300"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(answer, message):
    outcome = grade(f"import torch\n\ndef toy_model(n_features, d_hidden, sparsity, importance):\n    return {answer}\n")
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(f"toy_model(sparsity=0.9).{message}")


PENTAGON_WITH_A_FITTED_BIAS = (
    "import math, torch\n\n"
    "def toy_model(n_features, d_hidden, sparsity, importance):\n"
    "    # The S = 0.9 answer remembered, not found: a regular pentagon, with only the bias fitted.\n"
    "    angles = torch.arange(5) * 2 * math.pi / 5\n"
    "    W = torch.stack([angles.cos(), angles.sin()], dim=1)\n"
    "    b = torch.full((5,), 0.1, requires_grad=True)\n"
    "    optimiser = torch.optim.Adam([b], lr=0.02)\n"
    "    for _ in range(250):\n"
    "        x = torch.rand(4000, 5) * (torch.rand(4000, 5) >= sparsity)\n"
    "        loss = (torch.tensor(importance) * (x - torch.relu(x @ W @ W.T + b)) ** 2).sum(-1).mean()\n"
    "        optimiser.zero_grad()\n"
    "        loss.backward()\n"
    "        optimiser.step()\n"
    "    return W, b.detach()\n"
)


def test_a_shape_remembered_for_one_sparsity_fails_at_the_companion_sparsity():
    """Random unit rows with a fitted bias reach a pass at S = 0.9 now and then (they are nearly a pentagon);
    the pentagon itself is the extreme case: right at 0.9, wrong at 0.7, so not a procedure that finds W."""
    outcome = grade(PENTAGON_WITH_A_FITTED_BIAS)
    assert outcome.checks["share of the reference's improvement at sparsity 0.9"]["passed"]
    assert not outcome.checks["share of the reference's improvement at sparsity 0.7"]["passed"]
    assert outcome.score < 0.5


def test_only_shapes_and_sparsities_with_a_reference_model_can_be_configured():
    with pytest.raises(ValueError, match="no trained reference model for n=5, d=2, S=0.0"):
        SuperpositionToy({"sparsity": 0.0})
