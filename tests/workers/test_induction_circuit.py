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


# Standard methods of the field (issue 16), each with the score it measurably gets.

ARENA_DETECTORS = """import torch


def find_induction_circuit(model, seq_len=20, batch=10, threshold=0.4):
    \"\"\"ARENA's detectors on repeated random tokens: prev_attn_detector and induction_attn_detector.\"\"\"
    torch.manual_seed(0)
    prefix = torch.zeros(batch, 1, dtype=torch.long)
    seq = torch.randint(1, model.cfg.d_vocab, (batch, seq_len))
    rep_tokens = torch.cat([prefix, seq, seq], dim=1)
    _, cache = model.run_with_cache(rep_tokens)
    heads = []
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            attention_pattern = cache[f"blocks.{layer}.attn.hook_pattern"][:, head].mean(0)
            previous = attention_pattern.diagonal(-1).mean()
            induction = attention_pattern.diagonal(-seq_len + 1).mean()
            if previous > threshold or induction > threshold:
                heads.append((layer, head))
    return heads
"""


@pytest.mark.parametrize("variant", [1, 2])
def test_arenas_attention_pattern_detectors_with_diagonal_offsets_score_full_marks(variant):
    """ARENA 1.2's ``prev_attn_detector`` / ``induction_attn_detector``: the mean of the attention pattern's
    diagonal at offset −1 and at −(seq_len − 1) on repeated random tokens, threshold 0.4 (seq_len 20: the
    model's n_ctx is 48). Written apart from the reference (a different diagonal, cut-off and probe), it finds
    4 heads (the second previous-token head, score about 0.4, falls under the cut-off; measured necessity 0.99,
    sufficiency 0.08) and passes on both models."""
    outcome = grade_code("induction-circuit", {}, ARENA_DETECTORS, LIMITS, variant=variant)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, 1.0), outcome.feedback
    assert len(outcome.metrics["public"]["heads"]) == 4


ZERO_ABLATION = KNOCKOUT_SOLUTION.replace(
    "Knock each head out (mean ablation)", "Zero-ablate each head in turn").replace(
    "z[:, :, head] = z[:, :, head].mean(dim=0, keepdim=True)", "z[:, :, head] = 0.0").replace(
    "- clean > 0.1:", "- clean > CUT_OFF:")


@pytest.mark.parametrize(("cut_off", "variant", "expected"),
                         [(0.1, 1, 0.475), (0.1, 2, 0.475), (0.2, 1, 1.0), (0.5, 1, 0.0)])
def test_loss_based_zero_ablation_of_single_heads_scores_what_its_cut_off_allows(cut_off, variant, expected):
    """Loss-based zero ablation of single heads (set one head's hook_z to 0, keep it if the loss on the repeated
    half rises by more than a cut-off), as taught before mean and resample ablation. Measured:

    - cut-off 0.1 nats: it finds the whole circuit, but on the hidden model also a layer-0 head that raises the
      loss when zeroed (+0.11) and barely when mean-ablated (+0.02): zeroing removes the head's average output
      too. Minimality fails there: 0.3 + 0.7 × 0.25 = 0.475. The feedback says why (zero vs mean ablation).
    - cut-off 0.2: five heads, one weak previous-token head missed but sufficiency 0.06: full marks.
    - cut-off 0.5: only the strongest previous-token head and one of the three induction heads (each alone costs
      0.38–0.54 nats, together nearly everything): sufficiency fails, 0; the feedback explains heads that
      matter only together.
    Redundancy does not make the usual cut-offs (0.1–0.2) fail here: the public model's three induction heads
    each cost at least 0.35 nats alone; the hidden model's weakest induction head costs 0.10 alone, so a cut-off
    of 0.2 misses it, and the rest still keeps the behaviour (sufficiency passes).
    """
    code = ZERO_ABLATION.replace("CUT_OFF", str(cut_off))
    assert "z[:, :, head] = 0.0" in code
    outcome = grade_code("induction-circuit", {}, code, LIMITS, variant=variant)
    assert (outcome.verdict, outcome.score) == (Verdict.GRADED, pytest.approx(expected)), outcome.feedback
    if cut_off == 0.1:
        assert outcome.checks["reference model: minimality"]["passed"]
        assert not outcome.checks["hidden model: minimality"]["passed"]
        assert "zero-ablating them one at a time" in outcome.feedback
    if cut_off == 0.5:
        assert not outcome.checks["reference model: sufficiency"]["passed"]
        assert "heads that matter only together" in outcome.feedback


def test_a_near_threshold_note_speaks_of_the_learners_copy_and_never_of_the_hidden_model():
    from workers.exercises.induction_circuit import Knockout
    kind = InductionCircuit()
    close = Knockout(heads=[(1, 0)], necessity=0.52, sufficiency=0.24, superfluous=[], losses={})
    feedback = kind._feedback({"public": close, "hidden": close}, {"public": 1.0, "hidden": 1.0})
    assert "Close to a threshold: necessity on your copy 52.0% is within 10% of its threshold 50.0%; " \
           "sufficiency on your copy 24.0% is within 10% of its threshold 25.0%." in feedback
    assert feedback.count("within 10%") == 2  # the hidden model's equal numbers are not mentioned
    far = Knockout(heads=[(1, 0)], necessity=0.99, sufficiency=0.03, superfluous=[], losses={})
    feedback = kind._feedback({"public": far, "hidden": close}, {"public": 1.0, "hidden": 1.0})
    assert "Close to a threshold" not in feedback and "52" not in feedback and "24" not in feedback
