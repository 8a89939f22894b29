"""scrub-induction through the real sandbox: the reference hypothesis and control pass; wrong nodes,
empty hypotheses and controls that break nothing do not."""

import pytest

from workers.exercises.scrub_induction import ScrubInduction
from workers.grading import Verdict, grade_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)
REFERENCE = ScrubInduction.reference_solution
HYPOTHESIS = "    return _input_with(tokens, position, tokens[:, previous + 1])\n"
CONTROL = "    return _input_with(tokens, position, other)\n"


def grade(code):
    return grade_code("scrub-induction", {}, code, LIMITS)


def test_the_reference_hypothesis_recovers_the_loss_and_its_control_breaks_it():
    outcome = grade(REFERENCE)
    assert outcome.verdict == Verdict.GRADED
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    metrics = outcome.metrics
    assert metrics["loss_recovered"] >= 0.9 and metrics["control_loss_recovered"] <= 0.3
    assert metrics["changed"] >= 0.5
    assert "Loss recovered by your hypothesis" in outcome.feedback


def test_a_head_the_behaviour_does_not_use_has_nothing_to_scrub():
    outcome = grade(REFERENCE.replace('NODE = ("blocks.1.attn.hook_z", 0)', 'NODE = ("blocks.1.attn.hook_z", 1)'))
    assert outcome.score == 0.0
    assert not outcome.checks["the node matters"]["passed"]
    assert "pick a head it relies on" in outcome.feedback


def test_returning_the_input_unchanged_is_not_a_hypothesis():
    outcome = grade(REFERENCE.replace(HYPOTHESIS, "    return tokens\n"))
    assert outcome.metrics["loss_recovered"] == pytest.approx(1.0)
    assert outcome.metrics["changed"] == 0.0
    assert not outcome.checks["resample changes the input"]["passed"]
    assert outcome.score == 0.25


def test_a_control_that_keeps_what_the_head_reads_does_not_pass():
    outcome = grade(REFERENCE.replace(CONTROL, "    return resample(tokens, position)\n"))
    assert outcome.metrics["control_loss_recovered"] > 0.9
    assert not outcome.checks["control breaks the behaviour"]["passed"]
    assert outcome.score == 0.25


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('NODE = ("blocks.1.attn.hook_z", 0)', 'NODE = "L1.H0"'),
         'NODE: expected NODE = ("blocks.L.attn.hook_z", H), e.g. ("blocks.1.attn.hook_z", 2); got \'L1.H0\''),
        (('NODE = ("blocks.1.attn.hook_z", 0)', 'NODE = ("blocks.1.attn.hook_z", 7)'),
         "NODE: head 7 does not exist; heads are numbered 0 to 3"),
        ((HYPOTHESIS, "    return tokens[:, 1:]\n"),
         "resample: expected a LongTensor of shape [64, 21] (the shape of tokens), got a tensor of shape [64, 20]"),
        ((HYPOTHESIS, "    return tokens.float()\n"),
         "resample: expected integer token ids (a LongTensor), got dtype float32"),
        ((CONTROL, "    return tokens + 100\n"), "control_resample: token ids must lie in 0..59"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(change, message):
    outcome = grade(REFERENCE.replace(*change))
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)
