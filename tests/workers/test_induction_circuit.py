"""induction-circuit through the real sandbox, on the public and the hidden induction model: a detector that
measures attention finds both circuits; hard-coded, partial or padded answers lose marks."""

import pytest

from workers import reference_models
from workers.exercises.induction_circuit import InductionCircuit
from workers.grading import Verdict, grade_code
from workers.sandbox import Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30, memory_bytes=1024**3)


def grade(code):
    return grade_code("induction-circuit", {}, code, LIMITS)


def returning(heads):
    return f"def find_induction_circuit(model):\n    return {heads!r}\n"


def public_circuit():
    key = reference_models.answer_key("induction-2l")
    return sorted(tuple(h) for h in key["induction_heads"] + key["previous_token_heads"])


def test_a_detector_that_measures_attention_finds_both_circuits():
    outcome = grade(InductionCircuit.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["public"]["heads"] != outcome.metrics["hidden"]["heads"]  # the circuit moved
    for which in ("public", "hidden"):
        assert outcome.metrics[which]["necessity"] >= 0.5
        assert outcome.metrics[which]["sufficiency"] <= 0.25


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


def on_the_hidden_model(statement):
    """The reference solution, with ``statement`` run on the second call: the hidden model's."""
    return InductionCircuit.reference_solution.replace(
        "    torch.manual_seed(0)\n",
        "    torch.manual_seed(0)\n    calls.append(model)\n    if len(calls) == 2:\n        " + statement + "\n",
    ).replace("import torch\n", "import torch\ncalls = []\n", 1)


@pytest.mark.parametrize(
    ("statement", "shown"),
    [
        ("raise ValueError(f'secret {model.blocks[0].attn.W_Q.sum().item():.4f}')",
         "raised ValueError on the hidden model"),
        ("raise type('Secret_0_1234', (Exception,), {})()", "raised an exception on the hidden model"),
        ("return [(7, 1234)]", "on the hidden model it returned something else (not shown)"),
        ("return 'secret'", "on the hidden model it returned something else (not shown)"),
    ],
)
def test_nothing_but_heads_comes_back_from_the_hidden_model(statement, shown):
    outcome = grade(on_the_hidden_model(statement))
    assert outcome.verdict == Verdict.FAILED
    assert shown in outcome.feedback
    for leak in ("secret", "Secret", "1234", "Traceback", "line "):
        assert leak not in outcome.feedback
