"""induction-circuit through the real sandbox, on the learner's copy of the public induction model and on the
hidden one: a detector that measures attention finds both circuits; hard-coded, partial or padded answers
lose marks. Attacks on the hidden run are in test_trust_boundary.py."""

import pytest

from workers import reference_models
from workers.exercises.induction_circuit import InductionCircuit
from workers.grading import Verdict, grade_code, hidden_model_seed
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
    key = reparameterise.Reparameterisation.draw(config, VARIANT).answer_key(reference_models.answer_key("induction-2l"))
    return sorted(tuple(h) for h in key["induction_heads"] + key["previous_token_heads"])


def test_a_detector_that_measures_attention_finds_both_circuits():
    outcome = grade(InductionCircuit.reference_solution)
    assert outcome.verdict == Verdict.GRADED
    assert (outcome.score, outcome.max_score) == (1.0, 1.0)
    assert outcome.metrics["public"]["heads"] == [list(head) for head in public_circuit()]
    assert outcome.metrics["public"]["necessity"] >= 0.5
    assert outcome.metrics["public"]["sufficiency"] <= 0.25
    assert outcome.metrics["hidden"] == {"passed": True}


KNOCKOUT_SOLUTION = """import torch


def find_induction_circuit(model):
    \"\"\"Knock each head out (mean ablation) on repeated random words; keep the heads induction needs.\"\"\"
    generator = torch.Generator().manual_seed(1)
    words = torch.randint(1, model.cfg.d_vocab, (32, 12), generator=generator)
    tokens = torch.cat([torch.zeros(32, 1, dtype=torch.long), words, words], dim=1)

    def loss(hooks):
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
        log_probs = logits[:, 13:-1].log_softmax(-1)
        return -log_probs.gather(-1, tokens[:, 14:, None]).mean().item()

    clean = loss([])
    circuit = []
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            def ablate(z, hook, head=head):
                z = z.clone()
                z[:, :, head] = z[:, :, head].mean(dim=0, keepdim=True)
                return z
            if loss([(f"blocks.{layer}.attn.hook_z", ablate)]) - clean > 0.1:
                circuit.append((layer, head))
    return circuit
"""


@pytest.mark.parametrize("variant", [1, 2])
def test_an_independent_solution_that_knocks_heads_out_also_finds_both_circuits(variant):
    outcome = grade_code("induction-circuit", {}, KNOCKOUT_SOLUTION, LIMITS, variant=variant)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0), outcome.feedback


def test_the_previous_token_heads_alone_score_nothing():
    outcome = grade(InductionCircuit.reference_solution.replace("induction[head] > threshold or ", ""))
    assert not outcome.checks["reference model: sufficiency"]["passed"]
    assert outcome.score == 0.0


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
        "    for write in (lambda: os.write(1, b'fd-one '), lambda: os.write(2, b'fd-two '),\n"
        "                  lambda: sys.__stdout__.write('dunder ') and sys.__stdout__.flush()):\n"
        "        try:\n"
        "            write()\n"
        "        except (OSError, ValueError):  # on the hidden model these descriptors are closed\n"
        "            pass\n"
        "    return circuit\n")
    outcome = grade(code)
    assert outcome.verdict == Verdict.GRADED and outcome.score == 1.0
    for written in ("fd-one", "dunder"):  # once, from the public model; the output learners see is stdout
        assert outcome.output.count(written) == 1, (written, outcome.output)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (returning([(2, 0)]), "find_induction_circuit: on your copy of the reference model it returned a pair (2, 0) "
                              "that is not a head: layers are 0 to 1, heads 0 to 3"),
        (returning("L1.H0"), "find_induction_circuit(your model): expected a list of (layer, head) pairs of shape "
                             "[*, 2], got a str"),
        ("def find_induction_circuit(model):\n    return None\n",
         "find_induction_circuit(your model): expected a list of (layer, head) pairs of shape [*, 2], got None"),
    ],
)
def test_unusable_answers_fail_with_what_was_expected(code, message):
    outcome = grade(code)
    assert outcome.verdict == Verdict.FAILED
    assert outcome.feedback.startswith(message)


def test_no_grading_draws_a_hidden_model_on_which_the_learners_hard_coded_circuit_passes():
    """Resubmitting a hard-coded answer is no lottery: every grading's hidden model is drawn until it fails."""
    kind = InductionCircuit()
    run = kind.hidden_runs()[0]
    drawn = {hidden_model_seed(kind, run, VARIANT, seed) for seed in range(8)}
    assert len(drawn) == 8
    heads = public_circuit()
    for hidden_seed in drawn:
        hidden = reparameterise.reparameterisation("induction-2l-alt", hidden_seed)
        model = reparameterise.variant("induction-2l-alt", hidden_seed, "cpu")
        knockout = kind._knockout(model, heads)
        assert knockout.necessity < 0.5 or knockout.sufficiency > 0.25, hidden.order
