"""induction-circuit through the real sandbox, on the learner's copy of the public induction model and on the
hidden one: a detector that measures attention finds both circuits; hard-coded, partial or padded answers
lose marks. Attacks on the hidden run are in test_trust_boundary.py."""

import pytest

from workers import reference_models
from workers.exercises.induction_circuit import InductionCircuit
from workers.grading import Verdict, grade_code
from workers.reference_models import reparameterise
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)
VARIANT = 7  # the learner's own reparameterisation of the public model


def grade(code):
    return grade_code("induction-circuit", {}, code, LIMITS, variant=VARIANT)


def returning(heads):
    return f"def find_induction_circuit(model):\n    return {heads!r}\n"


def public_circuit():
    """The circuit of the learner's copy of the public model, as hard-coding it would give it."""
    config = reference_models.metadata("induction-2l")["config"]
    key = reparameterise.Reparameterisation.random(config, VARIANT).answer_key(reference_models.answer_key("induction-2l"))
    return sorted(tuple(h) for h in key["induction_heads"] + key["previous_token_heads"])


def test_a_detector_that_measures_attention_finds_both_circuits():
    outcome = grade(InductionCircuit.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["public"]["heads"] == [list(head) for head in public_circuit()]
    assert outcome.metrics["public"]["necessity"] >= 0.5
    assert outcome.metrics["public"]["sufficiency"] <= 0.25
    assert outcome.metrics["hidden"] == {"passed": True}


def test_hard_coding_the_public_models_heads_fails_on_the_hidden_model():
    outcome = grade(returning(public_circuit()))
    assert outcome.checks["reference model: sufficiency"]["passed"]
    assert not outcome.checks["hidden model: sufficiency"]["passed"]
    assert outcome.score == pytest.approx(0.3)
    assert "not in the hidden one" in outcome.feedback


def test_the_induction_heads_alone_are_necessary_but_not_sufficient():
    outcome = grade(InductionCircuit.reference_solution.replace("(layer == 0 and previous[head] > threshold)", "False"))
    assert outcome.checks["hidden model: necessity"]["passed"]
    assert not outcome.checks["hidden model: sufficiency"]["passed"]
    assert outcome.score == 0.0


def test_every_head_is_sufficient_but_padded_with_heads_that_do_nothing():
    outcome = grade("def find_induction_circuit(model):\n"
                            "    return [(l, h) for l in range(model.cfg.n_layers) for h in range(model.cfg.n_heads)]\n")
    assert not outcome.checks["reference model: minimality"]["passed"]
    assert not outcome.checks["hidden model: minimality"]["passed"]
    assert outcome.score < 0.5


def test_printing_is_silenced_on_the_hidden_model():
    code = "import torch\nprint('model', 1)\n" + InductionCircuit.reference_solution.replace(
        "    return circuit\n", "    print('found', circuit)\n    return circuit\n")
    outcome = grade(code)
    assert outcome.output.count("found") == 1


def test_writes_below_python_are_silenced_on_the_hidden_model_too():
    code = "import os, sys\n" + InductionCircuit.reference_solution.replace(
        "    return circuit\n",
        "    os.write(1, b'fd-one ')\n    os.write(2, b'fd-two ')\n    sys.__stdout__.write('dunder ')\n"
        "    return circuit\n")
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED and outcome.score == 1.0
    for written in ("fd-one", "dunder"):  # once, from the public model; the output learners see is stdout
        assert outcome.output.count(written) == 1, (written, outcome.output)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (returning([(2, 0)]), "find_induction_circuit: on the reference model it returned (2, 0), which is not a head"),
        (returning("L1.H0"), "find_induction_circuit: expected a list of (layer, head) pairs such as [(0, 1), (1, 2)]; "
                             "on the reference model it returned a str"),
        ("def find_induction_circuit(model):\n    return None\n", "find_induction_circuit: expected a list of (layer, head) pairs"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(code, message):
    outcome = grade(code)
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)
