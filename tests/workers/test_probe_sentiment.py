"""The probe-sentiment exercise through the real sandbox: probes the model uses get full marks, probes that
decode and steer but that the model only partly uses get partial credit and the steps to take, the rest
nothing, and why."""

import pytest

from workers.exercises.probe_sentiment import ProbeSentiment
from workers.grading import Verdict, grade_code
from workers.reference_models import sentiment
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=20, cpu_seconds=20, memory_bytes=1024**3, max_output_bytes=64 * 1024)

DIFFERENCE_OF_MEANS = """
def fit_probe(acts, labels):
    positive = labels.bool()
    return acts[positive].mean(0) - acts[~positive].mean(0)
"""
RANDOM_DIRECTION = """
import torch

def fit_probe(acts, labels):
    return torch.randn(acts.shape[1], generator=torch.Generator().manual_seed(0))
"""
# A difference of means on shuffled labels. About one shuffle in 11 decodes and steers in this model, one
# in 120 also drops enough (bench/probe_false_pass.py), which is why every fit must pass.
SHUFFLED_LABELS = """
import torch

def fit_probe(acts, labels):
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(3))].bool()
    return acts[shuffled].mean(0) - acts[~shuffled].mean(0)
"""
# A softmax probe written the way ARENA trains its OthelloGPT probes: AdamW, no weight decay, enough steps.
# It decodes perfectly and steers the model, but its direction mixes the one the model reads with other
# features that separate the training reviews (causal drop about 0.3-0.45).
ARENA_UNREGULARISED = """
import torch
from torch import nn

def fit_probe(acts, labels):
    torch.manual_seed(0)
    probe = nn.Linear(acts.shape[1], 2)
    optimiser = torch.optim.AdamW(probe.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.0)
    for step in range(1000):
        loss = nn.functional.cross_entropy(probe(acts), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    weight, bias = probe.weight.detach(), probe.bias.detach()
    return weight[1] - weight[0], float(bias[1] - bias[0])
"""
# The difference of means on the first training sample, a random direction on the others.
GOOD_ONCE = """
import torch

calls = []

def fit_probe(acts, labels):
    calls.append(1)
    if len(calls) == 1:
        positive = labels.bool()
        return acts[positive].mean(0) - acts[~positive].mean(0)
    return torch.randn(acts.shape[1], generator=torch.Generator().manual_seed(0))
"""


def grade(code, variant=None):
    """Through the worker's own warm sandbox, exactly as a submission is graded (``variant``: the learner's
    copy of the model; by default a fresh one per grading)."""
    return grade_code("probe-sentiment", {}, code, LIMITS, variant=variant)


@pytest.mark.parametrize("code", [ProbeSentiment.reference_solution, DIFFERENCE_OF_MEANS], ids=["logistic", "means"])
def test_probes_the_model_uses_get_full_marks(code):
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED, outcome.feedback
    assert outcome.score == outcome.max_score == 1.0
    assert all(check["passed"] for check in outcome.checks.values())
    assert outcome.metrics["accuracy"] >= 0.95 and outcome.metrics["drop"] >= 0.7 and outcome.metrics["flip"] >= 0.9
    assert "you found the direction the model uses" in outcome.feedback


@pytest.mark.parametrize("variant", [0, 5])
def test_an_unregularised_logistic_probe_gets_partial_credit_and_the_steps_to_full_marks(variant):
    outcome = grade(ARENA_UNREGULARISED, variant=variant)
    assert outcome.verdict == Verdict.GRADED, outcome.feedback
    assert 0 < outcome.score < outcome.max_score
    assert outcome.score == pytest.approx(0.4)
    assert outcome.checks["held-out accuracy"]["passed"] and outcome.checks["flip rate"]["passed"]
    assert not outcome.checks["causal drop"]["passed"] and 0.25 < outcome.checks["causal drop"]["value"] < 0.7
    # The cosine with the grader's own difference of means on the same training sample, told with its figure.
    assert 0.5 < outcome.metrics["cosine"] < 0.95
    assert f"{outcome.metrics['cosine']:.2f}" in outcome.feedback
    feedback = outcome.feedback.lower()
    assert "regularis" in feedback and "difference of class means" in feedback and "cosine" in feedback
    assert "decodes and steers" in feedback and "40% of the marks" in feedback


@pytest.mark.parametrize(
    "accuracy, drop, flip, score",
    [(1.0, 1.0, 1.0, 1.0), (1.0, 0.45, 0.97, 0.4), (1.0, 0.98, 0.84, 0.0), (0.94, 0.98, 1.0, 0.0),
     (0.5, 0.05, 0.1, 0.0), (1.0, 0.1, 1.0, 0.4), (0.95, 0.85, 0.85, 1.0)],
    ids=["all", "decodes-and-steers", "no-flip", "no-accuracy", "random", "steers-barely-used", "at-thresholds"],
)
def test_decoding_and_steering_earn_less_than_half_together_and_full_marks_need_the_causal_drop(
        accuracy, drop, flip, score):
    fit = {"accuracy": accuracy, "drop": drop, "flip": flip, "cosine": 0.8}
    grade = ProbeSentiment().judge([fit, fit], {"accuracy": 1.0, "drop": 0.95, "flip": 1.0})
    assert grade.score == pytest.approx(score)
    assert grade.score < 0.5 or grade.score == 1.0  # nothing short of the causal drop reaches half marks


def test_a_direction_that_decodes_but_barely_steers_scores_zero_and_is_given_the_same_next_steps():
    fit = {"accuracy": 1.0, "drop": 0.26, "flip": 0.63, "cosine": 0.63}
    grade = ProbeSentiment().judge([fit, fit, fit], {"accuracy": 1.0, "drop": 0.94, "flip": 1.0})
    assert grade.score == 0
    assert "No marks" in grade.feedback and "Regularise" in grade.feedback and "0.63, 0.63 and 0.63 (one per fit)" in grade.feedback


def test_the_interface_says_what_is_graded_and_why():
    text = ProbeSentiment.learner_interface
    assert "40% of the marks" in text and "decoding is not use" in text.lower()
    assert "regularis" in text.lower()


def test_a_random_direction_scores_zero_because_the_model_does_not_use_it():
    outcome = grade(RANDOM_DIRECTION)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)
    assert not outcome.checks["causal drop"]["passed"] and outcome.checks["causal drop"]["value"] < 0.1
    assert not outcome.checks["flip rate"]["passed"]
    assert "decodable is not the same as used" in outcome.feedback


def test_every_fit_must_pass_so_one_good_direction_is_not_enough():
    outcome = grade(GOOD_ONCE)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)
    assert not outcome.checks["causal drop"]["passed"] and outcome.checks["causal drop"]["value"] < 0.1
    assert "each figure is its weakest fit" in outcome.feedback


def test_a_direction_fit_on_shuffled_labels_scores_zero():
    outcome = grade(SHUFFLED_LABELS)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)
    assert not all(check["passed"] for check in outcome.checks.values())


@pytest.mark.parametrize("scale", ["1e-30", "1e30"])
def test_the_measurement_is_scale_free_so_tiny_or_huge_directions_grade_like_unit_ones(scale):
    code = DIFFERENCE_OF_MEANS.replace("return acts[positive]", "return (acts[positive]").replace(
        "acts[~positive].mean(0)", f"acts[~positive].mean(0)).double() * {scale}")
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED, outcome.feedback
    assert outcome.score == 1.0


def test_a_probe_pointing_towards_negative_is_told_to_flip_its_sign_because_that_would_pass():
    outcome = grade(DIFFERENCE_OF_MEANS.replace("return acts[positive].mean(0) - acts[~positive].mean(0)",
                                                "return acts[~positive].mean(0) - acts[positive].mean(0)"))
    assert outcome.metrics["accuracy"] < 0.05
    assert "flip its sign" in outcome.feedback


def test_a_probe_at_chance_is_not_told_to_flip_its_sign_as_flipping_would_still_fail():
    # A random direction's accuracy depends on the learner's copy (its residual basis is rotated): fixed here.
    outcome = grade(RANDOM_DIRECTION.replace("manual_seed(0)", "manual_seed(2)"), variant=11)
    assert 0.05 < outcome.metrics["accuracy"] < 0.5
    assert "flip" not in outcome.feedback.split("**Flip rate")[0]  # the accuracy paragraph


@pytest.mark.parametrize(
    "code, message",
    [
        ("def fit_probe(acts, labels):\n    return acts.mean(0)[:, None]\n",
         "fits[0].direction: expected a tensor of shape [64], got shape [64, 1]"),
        ("def fit_probe(acts, labels):\n    return acts.mean(0) * float('nan')\n",
         "fits[0].direction: expected finite values, got NaN at index [0] (64 of 64 values are not finite)"),
        ("def fit_probe(acts, labels):\n    return 0 * acts.mean(0)\n",
         "fits[0].direction: expected a non-zero vector of shape [64], got all zeros"),
        ("def fit_probe(acts, labels):\n    return acts.mean(0), float('inf')\n",
         "fits[0].bias: expected a number, got infinity"),
        ("def fit_probe(acts, labels):\n    return 'positive'\n",
         "fits[0].direction: expected a tensor of shape [64], got a str"),
    ],
    ids=["wrong-shape", "nan", "zero", "infinite-bias", "not-a-tensor"],
)
def test_unusable_directions_fail_with_what_was_expected(code, message):
    outcome = grade(code)
    assert outcome.verdict == Verdict.FAILED
    assert message in outcome.feedback


def test_a_big_endian_direction_is_graded_like_a_native_one():
    code = DIFFERENCE_OF_MEANS.replace("return acts[positive].mean(0) - acts[~positive].mean(0)",
                                       "return (acts[positive].mean(0) - acts[~positive].mean(0)).numpy().astype('>f4')")
    outcome = grade(code)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0)


def test_a_function_that_raises_fails_with_its_error():
    outcome = grade("def fit_probe(acts, labels):\n    raise ValueError('not yet')\n")
    assert outcome.verdict == Verdict.FAILED
    assert "ValueError: not yet" in outcome.feedback


def test_a_missing_function_fails_naming_it():
    outcome = grade("def fit(acts, labels):\n    return acts.mean(0)\n")
    assert outcome.verdict == Verdict.FAILED
    assert "fit_probe(acts, labels)" in outcome.feedback


def test_the_child_never_receives_held_out_reviews_and_fits_on_disjoint_samples():
    samples = ProbeSentiment().child_inputs()["samples"]
    assert len(samples) == 3
    assert all(s["tokens"].shape == (220, 6) and s["labels"].shape == (220,) for s in samples)
    _, heldout = sentiment.split(0, 220, 300, 3)
    fitted = [{tuple(row) for row in s["tokens"].tolist()} for s in samples]
    held_out = {tuple(row) for row in sentiment.encode(heldout)[0].tolist()}
    assert all(not (held_out & sample) for sample in fitted)
    assert all(not (a & b) for i, a in enumerate(fitted) for b in fitted[i + 1:])


def test_the_configuration_is_validated():
    with pytest.raises(ValueError, match="at most 960 distinct reviews"):
        ProbeSentiment({"n_train": 400, "n_heldout": 400})
