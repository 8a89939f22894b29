"""scrub-induction through the real sandbox: the reference hypothesis and control pass; the starter code, a
control on its own, wrong nodes and empty hypotheses earn nothing, and feedback claims no measurement it
did not make."""

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


def with_node(code: str, layer: int, head: int) -> str:
    """``code`` naming a fixed node: its ``choose_node`` renamed away, ``NODE`` set."""
    return code.replace("def choose_node(", "def _unused(") + f'\nNODE = ("blocks.{layer}.attn.hook_z", {head})\n'


def not_yet(outcome) -> list[str]:
    """The steps listed under "Not yet", one per failing criterion."""
    return outcome.feedback.split("Not yet:\n")[1].splitlines()


def test_the_reference_chooses_its_head_by_measuring_and_passes():
    outcome = grade(REFERENCE)
    assert outcome.verdict == Verdict.GRADED
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    metrics = outcome.metrics
    assert metrics["node"][0] == 1
    assert metrics["loss_recovered"] >= 0.9 and metrics["control_loss_recovered"] <= 0.3
    assert metrics["changed"] >= 0.5
    assert "Loss recovered by your hypothesis" in outcome.feedback
    assert "Not yet" not in outcome.feedback


def test_the_starter_code_earns_nothing():
    outcome = grade(ScrubInduction.starter_code)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 0.0)


def test_a_control_alone_earns_nothing():
    outcome = grade(REFERENCE.replace(HYPOTHESIS, "    return torch.randint(1, 60, tokens.shape)\n"))
    assert outcome.checks["control breaks the behaviour"]["passed"]  # a random control breaks anything...
    assert not outcome.checks["hypothesis recovers the loss"]["passed"]
    assert outcome.score == 0.0  # ...and earns nothing on its own
    assert "a control only counts next to a hypothesis that holds" in outcome.feedback


def test_a_head_the_behaviour_does_not_use_has_nothing_to_recover_and_no_recovery_is_claimed():
    # Layer-0 heads move the loss inside the repeat by < 0.05 nats in every copy of the model (heads are
    # permuted within their layer only).
    outcome = grade(with_node(REFERENCE, 0, 2))
    assert outcome.score == 0.0
    assert not outcome.checks["the node matters"]["passed"]
    for name in ("hypothesis recovers the loss", "control breaks the behaviour"):
        assert outcome.checks[name]["value"] is None
        assert outcome.checks[name]["explanation"] == "not measured: L0.H2 has no effect to recover"
    assert outcome.metrics["loss_recovered"] is None and outcome.metrics["control_loss_recovered"] is None
    assert "Loss recovered by your" not in outcome.feedback and "recovered 0.00" not in outcome.feedback
    assert "loss recovered was not measured" in outcome.feedback
    [step] = not_yet(outcome)
    assert step.startswith("- Pick a head the behaviour relies on: mean-ablating L0.H2 changes the loss by ")


def test_returning_the_input_unchanged_is_not_a_hypothesis_and_only_that_is_listed_as_not_yet():
    outcome = grade(REFERENCE.replace(HYPOTHESIS, "    return tokens\n"))
    assert outcome.metrics["loss_recovered"] == pytest.approx(1.0)
    assert outcome.metrics["changed"] == 0.0
    assert not outcome.checks["resample changes the input"]["passed"]
    assert outcome.score == 0.0
    [step] = not_yet(outcome)
    assert step.startswith("- Your resample changes 0% of tokens (needs 50%)")


def test_a_hypothesis_with_a_control_that_keeps_what_the_head_reads_earns_a_quarter():
    outcome = grade(REFERENCE.replace(CONTROL, "    return resample(tokens, position)\n"))
    assert outcome.metrics["control_loss_recovered"] > 0.9
    assert not outcome.checks["control breaks the behaviour"]["passed"]
    assert outcome.score == 0.25
    [step] = not_yet(outcome)
    assert step.startswith("- Your control recovers")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (with_node(REFERENCE, 1, 0).replace('NODE = ("blocks.1.attn.hook_z", 0)', 'NODE = "L1.H0"'),
         'NODE: expected NODE = ("blocks.L.attn.hook_z", H) with L from 0 to 1, got a str'),
        (with_node(REFERENCE, 1, 7), "NODE.head: expected a whole number from 0 to 3, got the integer 7"),
        (with_node(REFERENCE, 1, 0).replace('", 0)', '", 0.6)'),
         "NODE.head: expected a whole number from 0 to 3, got the number 0.6"),
        (with_node(REFERENCE, 1, 0).replace("blocks.1.attn", "blocks.1" + "0" * 5000 + ".attn"),
         "NODE.hook: expected a hook name in (\"blocks.L.attn.hook_z\", H) with L from 0 to 1 of at most 40 "
         "characters, got text of 5,020 characters"),
        (REFERENCE.replace(HYPOTHESIS, "    return tokens[:, 1:]\n"),
         "resample[0]: expected token ids (a LongTensor) of shape [64, 21], got shape [64, 20]"),
        (REFERENCE.replace(HYPOTHESIS, "    return tokens.float() + 0.5\n"),
         "resample[0]: expected whole numbers, got 0.5 at index [0, 0]"),
        (REFERENCE.replace(CONTROL, "    return tokens + 100\n"),
         "control_resample[0]: expected values from 0 to 59, got values from 100 to 159"),
    ],
    ids=["str-node", "no-such-head", "fractional-head", "huge-hook", "shape", "fractional-ids", "ids-out-of-range"],
)
def test_unusable_answers_fail_with_what_was_expected(code, message):
    outcome = grade(code)
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)


def test_a_head_index_of_hundreds_of_digits_fails_naming_it():
    outcome = grade(with_node(REFERENCE, 1, 0).replace('", 0)', '", 10**400)'))
    assert outcome.verdict == Verdict.FAILED
    assert "NODE" in outcome.feedback and "integer" in outcome.feedback and len(outcome.feedback) < 200


def test_whole_float_token_ids_are_token_ids():
    outcome = grade(REFERENCE.replace(HYPOTHESIS, HYPOTHESIS.replace("return ", "return 1.0 * ")))
    assert outcome.verdict == Verdict.GRADED and outcome.score == 1.0


def test_the_reference_is_the_standard_induction_story_and_passes_with_a_margin():
    """Causal scrubbing's standard induction hypothesis (the head reads the token after the current token's
    previous occurrence; ARENA / Redwood's induction story), with a random resample as the control, is the
    reference solution (test above): no measured value lies within 10% of a threshold, so no note."""
    outcome = grade(REFERENCE)
    assert outcome.score == 1.0
    assert "Close to a threshold" not in outcome.feedback


def test_values_within_10_percent_of_a_threshold_are_called_close_either_side():
    """Synthetic measurements through the kind's feedback: a recovery of 0.88 (fails, needs 0.9) and a control
    at 0.29 (passes, needs at most 0.3) are both close; 0.5 is not."""
    from workers.exercises.base import Check
    kind = ScrubInduction()
    checks = [Check("the node matters", True, 1.0, 0.1, ""), Check("resample changes the input", True, 0.6, 0.5, ""),
              Check("hypothesis recovers the loss", False, 0.88, 0.9, ""),
              Check("control breaks the behaviour", True, 0.29, 0.3, "")]
    feedback = kind._feedback("L1.H0", 1.0, 3.0, 1.24, 2.42, 0.88, 0.29, 0.6, 0.6, checks, False)
    assert ("Close to a threshold: loss recovered by your hypothesis 0.880 is within 10% of its threshold 0.900; "
            "loss recovered by your control 0.290 is within 10% of its threshold 0.300.") in feedback
    feedback = kind._feedback("L1.H0", 1.0, 3.0, 1.24, 2.0, 0.88, 0.5, 0.6, 0.6, checks, False)
    assert "loss recovered by your control 0.500" not in feedback
