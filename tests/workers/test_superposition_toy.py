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


# Standard methods of the field (issue 16), each with the score it measurably gets.

ARENA_TOY_MODEL = '''import torch


def toy_model(n_features, d_hidden, sparsity, importance, n_instances=N_INSTANCES, steps=3000, seed=SEED):
    """ARENA's toy model of superposition: n_instances models trained in parallel with Adam on
    h = W x, x_hat = ReLU(W^T h + b) (W: [instances, d_hidden, n_features], Xavier-normal init); the
    instance with the lowest loss on the last batch is kept."""
    torch.manual_seed(seed)
    W = torch.nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(n_instances, d_hidden, n_features)))
    b = torch.nn.Parameter(torch.zeros(n_instances, n_features))
    importance = torch.tensor(importance)
    optimiser = torch.optim.Adam([W, b], lr=1e-3)
    for step in range(steps):
        features = torch.rand(1024, n_instances, n_features)
        x = features * (torch.rand(1024, n_instances, n_features) <= 1 - sparsity)
        hidden = torch.einsum("bif,ihf->bih", x, W)
        out = torch.relu(torch.einsum("bih,ihf->bif", hidden, W) + b)
        per_instance = (importance * (x - out) ** 2).mean(0).sum(-1)
        optimiser.zero_grad()
        per_instance.sum().backward()
        optimiser.step()
    best = int(per_instance.argmin())
    return W[best].detach().T, b[best].detach()
'''


def arena(n_instances, seed):
    return ARENA_TOY_MODEL.replace("N_INSTANCES", str(n_instances)).replace("SEED", str(seed))


@pytest.mark.parametrize(("config", "seed", "ratios"), [
    ({}, 0, {"0.9": 1.007, "0.7": 0.967}),
    ({"n_features": 20, "d_hidden": 5}, 0, {"0.9": 0.964, "0.7": 1.262}),
], ids=["5x2", "20x5"])
def test_arenas_toy_model_with_one_instance_passes_with_a_margin_at_seed_0(config, seed, ratios):
    """ARENA 1.4's toy model, trained as one instance (one seed): Adam, lr 1e-3, batch 1024, 3000 steps.
    Over seeds 0–5 every single-instance run passed (5×2: weaker ratio 0.86–0.97; 20×5: 0.96–0.98)."""
    outcome = grade(arena(1, seed), **config)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0), outcome.feedback
    assert outcome.metrics["ratios"] == pytest.approx(ratios, abs=0.01)
    assert "Close to a threshold" not in outcome.feedback


def test_a_single_instance_that_lands_near_the_pass_mark_is_told_so():
    """The same single-instance training at seed 2 lands at 0.870 at sparsity 0.7 (seed 5: 0.865), within 10% of
    the pass mark 0.8: it passes, and the feedback says one run can land either side and to train several."""
    outcome = grade(arena(1, 2))
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0)
    assert outcome.metrics["ratios"]["0.7"] == pytest.approx(0.870, abs=0.01)
    assert "Close to a threshold: the ratio at sparsity 0.7 " in outcome.feedback
    assert "A single training run can land either side of the pass mark" in outcome.feedback
    assert "several instances at once" in outcome.feedback


def test_arenas_toy_model_with_several_instances_keeps_the_best_and_passes_clearly():
    """ARENA's way: 8 instances trained in parallel, the best kept. At seed 2, where one instance lands near the
    pass mark, the best of eight reaches 1.0 at sparsity 0.7 and 1.007 at 0.9: no near-threshold note."""
    outcome = grade(arena(8, 2))
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0), outcome.feedback
    assert min(outcome.metrics["ratios"].values()) >= 0.95
    assert "Close to a threshold" not in outcome.feedback


def test_a_single_instance_trained_too_briefly_fails_just_below_the_pass_mark_and_is_told_so():
    """One instance, seed 1, 1000 steps instead of 3000: 0.98 at sparsity 0.9 but 0.783 at 0.7, within 10%
    below the pass mark: half the ratio (0.391), with the note and the advice to try a few seeds."""
    outcome = grade(arena(1, 1).replace("steps=3000", "steps=1000"))
    assert outcome.verdict == Verdict.GRADED
    assert outcome.metrics["ratios"]["0.7"] == pytest.approx(0.783, abs=0.01)
    assert outcome.score == pytest.approx(0.391, abs=0.005)
    assert "Close to a threshold: the ratio at sparsity 0.7 0.78" in outcome.feedback
    assert "try a few seeds" in outcome.feedback
