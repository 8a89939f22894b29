"""The probe-sentiment exercise through the real sandbox: good probes get full marks, the rest low marks and why."""

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
# A difference of means on shuffled labels. Some shuffles land on the sentiment direction in this
# model (see bench/probe_false_pass.py); this seed's shuffle is a typical one that does not.
SHUFFLED_LABELS = """
import torch

def fit_probe(acts, labels):
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(3))].bool()
    return acts[shuffled].mean(0) - acts[~shuffled].mean(0)
"""


def grade(code):
    """Through the worker's own warm sandbox, exactly as a submission is graded."""
    return grade_code("probe-sentiment", {}, code, LIMITS)


@pytest.mark.parametrize("code", [ProbeSentiment.reference_solution, DIFFERENCE_OF_MEANS], ids=["logistic", "means"])
def test_probes_the_model_uses_get_full_marks(code):
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED, outcome.feedback
    assert outcome.score == outcome.max_score == 1.0
    assert all(check["passed"] for check in outcome.checks.values())
    assert outcome.metrics["accuracy"] >= 0.95 and outcome.metrics["drop"] >= 0.7 and outcome.metrics["flip"] >= 0.9
    assert "you found the direction the model uses" in outcome.feedback


def test_a_random_direction_scores_zero_because_the_model_does_not_use_it():
    outcome = grade(RANDOM_DIRECTION)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)
    assert not outcome.checks["causal drop"]["passed"] and outcome.checks["causal drop"]["value"] < 0.1
    assert not outcome.checks["flip rate"]["passed"]
    assert "decodable is not the same as used" in outcome.feedback


def test_a_direction_fit_on_shuffled_labels_scores_zero():
    outcome = grade(SHUFFLED_LABELS)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)
    assert not all(check["passed"] for check in outcome.checks.values())


@pytest.mark.parametrize(
    "code, message",
    [
        ("def fit_probe(acts, labels):\n    return acts.mean(0)[:, None]\n",
         "direction: expected a tensor of shape [64], got [64, 1]"),
        ("def fit_probe(acts, labels):\n    return acts.mean(0) * float('nan')\n",
         "direction: expected finite values, got NaN at index [0]"),
        ("def fit_probe(acts, labels):\n    return 0 * acts.mean(0)\n",
         "direction: expected a non-zero vector of shape [64], got all zeros"),
        ("def fit_probe(acts, labels):\n    return 'positive'\n", "direction: expected a tensor, got a str"),
    ],
    ids=["wrong-shape", "nan", "zero", "not-a-tensor"],
)
def test_unusable_directions_fail_with_what_was_expected(code, message):
    outcome = grade(code)
    assert outcome.verdict == Verdict.FAILED
    assert message in outcome.feedback


def test_a_function_that_raises_fails_with_its_error():
    outcome = grade("def fit_probe(acts, labels):\n    raise ValueError('not yet')\n")
    assert outcome.verdict == Verdict.FAILED
    assert "ValueError: not yet" in outcome.feedback


def test_a_missing_function_fails_naming_it():
    outcome = grade("def fit(acts, labels):\n    return acts.mean(0)\n")
    assert outcome.verdict == Verdict.FAILED
    assert "fit_probe(acts, labels)" in outcome.feedback


def test_the_child_never_receives_held_out_reviews():
    kind = ProbeSentiment()
    inputs = kind.child_inputs()
    assert inputs["tokens"].shape == (400, 6) and inputs["labels"].shape == (400,)
    train, heldout = sentiment.split(0, 400, 400)
    held_out_tokens = {tuple(row) for row in sentiment.encode(heldout)[0].tolist()}
    assert not held_out_tokens & {tuple(row) for row in inputs["tokens"].tolist()}


def test_the_configuration_is_validated():
    with pytest.raises(ValueError, match="at most 960 distinct reviews"):
        ProbeSentiment({"n_train": 800, "n_heldout": 800})
