"""Induction-circuit knockout with a universality check (Practice Problem 3).

The learner writes ``find_induction_circuit(model)``; the child runs it on the public ``induction-2l``
and on ``induction-2l-alt``, a model learners never see whose circuit sits at other head indices, so a
function that hard-codes the first model's heads fails. The hidden model is not preloaded into the
sandbox (any learner code could find it there); the parent hands its weights to the grading child
only, and nothing the function does on it reaches the learner but validated heads (no printing, no
exception text). For each model the parent measures, on
repeated random tokens (loss where only induction predicts the next word) with heads mean-ablated:

- necessity: ablating the returned heads costs at least ``necessity_min`` of what ablating every
  head costs: (L_without − L_clean) / (L_all − L_clean);
- sufficiency: ablating every *other* head keeps the loss close to clean:
  (L_only − L_clean) / (L_all − L_clean) ≤ ``sufficiency_max``;
- minimality: a returned head whose removal raises the only-circuit share by less than
  ``least_contribution`` is superfluous and costs points.

Measured (probe seed 23, checkpoints of 2000 steps): the public circuit is L0.H2, L0.H3
(previous-token) and L1.H0, L1.H2, L1.H3 (induction): necessity 0.99, sufficiency 0.03; the hidden
one is L0.H0, L0.H3, L1.H1, L1.H2, L1.H3: necessity 1.00, sufficiency 0.005. Each circuit head keeps
0.026–0.83 of the span (dropping it raises the only-circuit share by that much), every other head at
most 0.001, hence 0.01. Hard-coding the public heads gives sufficiency 0.81 on the hidden model; the
induction heads alone 0.94–0.97; returning every head passes both tests but pads the circuit.

The hidden model's result is worth more than the public one's, because it is the universality test.
The stored answer key is only shown to instructors as a cross-check.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import pydantic

from workers import reference_models
from workers.exercises import _circuits
from workers.exercises.base import Check, ExerciseKind, Grade, InvalidOutput
from workers.sandbox.validation import require_function

PUBLIC, HIDDEN = "induction-2l", "induction-2l-alt"
_MAX_HEADS = 64
# Compared by identity: a learner's own exception class could carry anything in its name (or run code for it).
_BUILT_IN_EXCEPTIONS = [t for t in vars(builtins).values() if isinstance(t, type) and issubclass(t, BaseException)]


@dataclass
class Knockout:
    """One model's measurements for the learner's set of heads."""

    heads: list[_circuits.Head]
    necessity: float
    sufficiency: float
    superfluous: list[_circuits.Head]
    losses: dict[str, float]


class InductionCircuit(ExerciseKind):
    slug = "induction-circuit"
    title = "Find the induction circuit in any induction model (knockout, universality)"
    learner_interface = (
        "Define `find_induction_circuit(model) -> list[tuple[int, int]]` returning the `(layer, head)` pairs "
        "of the heads that make up the model's induction circuit (the previous-token head(s) and the "
        "induction head(s)). `model` is a TransformerLens model: use `model.run_with_cache(tokens)`, "
        "`cache[\"blocks.L.attn.hook_pattern\"]` (shape `[batch, head, query, key]`), `model.cfg.n_layers`, "
        "`model.cfg.n_heads`, `model.cfg.d_vocab` (token 0 is `<bos>`).\n\n"
        "Your function runs on the reference model **and on a second induction model you never see**, whose "
        "circuit sits at other head indices: hard-coding indices fails. For each model the grader mean-ablates "
        "heads (replacing their output by its mean) on repeated random tokens and checks **necessity** "
        "(ablating your heads loses at least half of what ablating every head loses), **sufficiency** (keeping "
        "only your heads loses at most a quarter of it) and **minimality** (each head you return must matter: "
        "heads that do not cost points). Nothing about the hidden model reaches you but your heads: printing is "
        "silenced there, and an error there is reported by its type only."
    )
    starter_code = (
        "import torch\n\n\n"
        "def find_induction_circuit(model):\n"
        "    tokens = torch.randint(1, model.cfg.d_vocab, (16, 10))\n"
        "    tokens = torch.cat([torch.zeros(16, 1, dtype=torch.long), tokens, tokens], dim=1)\n"
        "    _, cache = model.run_with_cache(tokens)\n"
        "    # Which heads attend to the previous token? Which attend to the token after the previous occurrence?\n"
        "    return [(1, 0)]\n"
    )
    reference_solution = (
        "import torch\n\n\n"
        "def find_induction_circuit(model, threshold=0.3, length=10):\n"
        "    torch.manual_seed(0)\n"
        "    words = torch.randint(1, model.cfg.d_vocab, (32, length))\n"
        "    tokens = torch.cat([torch.zeros(32, 1, dtype=torch.long), words, words], dim=1)\n"
        "    _, cache = model.run_with_cache(tokens)\n"
        "    queries = torch.arange(length + 1, 2 * length + 1)\n"
        "    rows = torch.arange(1, 2 * length + 1)\n"
        "    circuit = []\n"
        "    for layer in range(model.cfg.n_layers):\n"
        "        pattern = cache[f\"blocks.{layer}.attn.hook_pattern\"]  # [batch, head, query, key]\n"
        "        induction = pattern[:, :, queries, queries - length + 1].mean(dim=(0, 2))\n"
        "        previous = pattern[:, :, rows, rows - 1].mean(dim=(0, 2))\n"
        "        for head in range(model.cfg.n_heads):\n"
        "            if induction[head] > threshold or (layer == 0 and previous[head] > threshold):\n"
        "                circuit.append((layer, head))\n"
        "    return circuit\n"
    )

    class Config(ExerciseKind.Config):
        necessity_min: float = pydantic.Field(0.5, description="Least share of the all-heads loss rise from ablating the circuit.")
        sufficiency_max: float = pydantic.Field(0.25, description="Most share of it when only the circuit is kept.")
        least_contribution: float = pydantic.Field(
            0.01, description="A returned head that keeps less than this share of the loss when only the circuit is kept is superfluous."
        )
        superfluous_cost: float = pydantic.Field(0.25, ge=0, le=1, description="Points lost per superfluous head (of one).")
        hidden_weight: float = pydantic.Field(0.7, ge=0, le=1, description="Share of the score from the hidden model.")
        seed: int = pydantic.Field(23, description="Seed of the probe sequences.")

    def reference_models(self) -> list[str]:
        return [PUBLIC, HIDDEN]

    def child_inputs(self) -> dict[str, Any]:
        """Runs in the parent at grading time: the hidden model's weights go to this one child only."""
        return {"public": PUBLIC, "hidden": reference_models.portable(HIDDEN)}

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        find = require_function(learner, "find_induction_circuit", "model")
        public_model = models[inputs["public"]]
        public = _plain(find(public_model))
        device = str(reference_models.device_of(public_model))
        with contextlib.redirect_stdout(io.StringIO()):  # TransformerLens announces the move to the device
            hidden_model = reference_models.from_portable(inputs["hidden"], device)
        return {"public": public, "hidden": _heads_on_hidden(find, hidden_model)}

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        c = self.config
        results = {}
        for which, name in (("public", PUBLIC), ("hidden", HIDDEN)):
            model = models[name]
            heads = _heads(outputs.get(which), model, "the reference model" if which == "public" else "the hidden model")
            results[which] = self._knockout(model, heads)
        checks, parts = [], {}
        for which, label in (("public", "reference model"), ("hidden", "hidden model")):
            result = results[which]
            necessary = result.necessity >= c.necessity_min
            sufficient = result.sufficiency <= c.sufficiency_max
            checks += [
                Check(f"{label}: necessity", necessary, round(result.necessity, 3), c.necessity_min,
                      f"ablating your heads loses {result.necessity:.0%} of what ablating every head loses"),
                Check(f"{label}: sufficiency", sufficient, round(result.sufficiency, 3), c.sufficiency_max,
                      f"keeping only your heads loses {result.sufficiency:.0%} of it"),
                Check(f"{label}: minimality", not result.superfluous, len(result.superfluous), 0,
                      "no head can be dropped" if not result.superfluous else
                      f"{_names(result.superfluous)} add(s) nothing to the circuit"),
            ]
            parts[which] = (necessary and sufficient) * max(0.0, 1 - c.superfluous_cost * len(result.superfluous))
        score = (1 - c.hidden_weight) * parts["public"] + c.hidden_weight * parts["hidden"]
        return Grade(
            score=round(score, 4),
            max_score=1.0,
            checks=checks,
            feedback=self._feedback(results, parts),
            metrics={which: {"heads": [list(h) for h in r.heads], "necessity": round(r.necessity, 4),
                             "sufficiency": round(r.sufficiency, 4), "superfluous": [list(h) for h in r.superfluous],
                             **{k: round(v, 4) for k, v in r.losses.items()}} for which, r in results.items()},
        )

    def _knockout(self, model, heads: list[_circuits.Head]) -> Knockout:
        c = self.config
        tokens = _circuits.repeated_tokens(c.seed)
        positions = _circuits.induction_positions()
        everything = _circuits.all_heads(model)
        means = _circuits.head_means(model, tokens)

        def loss_without(ablated: list[_circuits.Head]) -> float:
            return _circuits.loss_at(model, tokens, positions, _circuits.mean_ablation(means, ablated))

        clean, lost = loss_without([]), loss_without(everything)
        span = lost - clean

        def shares(kept: list[_circuits.Head]) -> tuple[float, float]:
            others = [h for h in everything if h not in kept]
            return (loss_without(kept) - clean) / span, (loss_without(others) - clean) / span

        necessity, sufficiency = shares(heads)
        superfluous = []
        if necessity >= c.necessity_min and sufficiency <= c.sufficiency_max:
            for head in heads:
                without = [h for h in heads if h != head]
                if shares(without)[1] - sufficiency < c.least_contribution:
                    superfluous.append(head)
        losses = {"clean_loss": clean, "all_ablated_loss": lost,
                  "without_circuit_loss": clean + necessity * span, "only_circuit_loss": clean + sufficiency * span}
        return Knockout(heads, necessity, sufficiency, superfluous, losses)

    def _feedback(self, results: dict[str, Knockout], parts: dict[str, float]) -> str:
        c = self.config
        lines = []
        for which, label in (("public", "Reference model"), ("hidden", "Hidden model")):
            r = results[which]
            lines.append(
                f"- **{label}**: your heads {_names(r.heads) or 'none'}. Ablating them loses "
                f"{r.necessity:.0%} of what ablating every head loses (need ≥ {c.necessity_min:.0%}); keeping only "
                f"them loses {r.sufficiency:.0%} (need ≤ {c.sufficiency_max:.0%})"
                + (f"; {_names(r.superfluous)} add(s) nothing and cost points" if r.superfluous else "") + "."
            )
        if parts["public"] and not parts["hidden"]:
            lines.append(
                "\nYour function finds the circuit in the reference model but not in the hidden one, whose heads "
                "sit at other indices. Measure attention patterns instead of naming indices: the same algorithm "
                "lives at different places in different models."
            )
        return "\n".join(lines)


def _heads_on_hidden(find, model) -> list[list[int]] | dict[str, str]:
    """The learner's heads on the hidden model and nothing else: printing is silenced, a failure names
    only a built-in exception type, and anything but in-range pairs becomes a marker that echoes nothing."""
    try:
        with _silenced():
            value = _plain(find(model))
    except BaseException as exc:  # noqa: BLE001 - its text, class name or traceback could carry the weights
        kind = next((t.__name__ for t in _BUILT_IN_EXCEPTIONS if type(exc) is t), "an exception")
        raise InvalidOutput(
            f"find_induction_circuit raised {kind} on the hidden model (its message is not shown, as nothing "
            "about that model is); make sure it runs on any model with the reference model's shape"
        ) from None
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    if not isinstance(value, list) or not all(0 <= layer < n_layers and 0 <= head < n_heads for layer, head in value):
        return {"not_pairs": "something else (not shown)"}
    return [list(head) for head in sorted({(layer, head) for layer, head in value})]


@contextlib.contextmanager
def _silenced():
    """Nothing written while it lasts reaches the learner: Python's streams, and the file descriptors 1 and 2
    behind them (``os.write(1, …)``, ``sys.__stdout__``), go to a scratch file in the run folder, then away."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(dir=".") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def _plain(value: Any) -> Any:
    """The learner's list of pairs as JSON (tensors and NumPy ints become Python ints); else a description."""
    try:
        return [[int(layer), int(head)] for layer, head in value]
    except (TypeError, ValueError):
        return {"not_pairs": f"a {type(value).__name__}"}


def _heads(value: Any, model, where: str) -> list[_circuits.Head]:
    expected = "a list of (layer, head) pairs such as [(0, 1), (1, 2)]"
    if isinstance(value, dict) or not isinstance(value, list):
        got = value.get("not_pairs", "something else") if isinstance(value, dict) else "nothing"
        raise InvalidOutput(f"find_induction_circuit: expected {expected}; on {where} it returned {got}")
    if len(value) > _MAX_HEADS:
        raise InvalidOutput(f"find_induction_circuit: expected at most {_MAX_HEADS} heads; got {len(value)}")
    heads = []
    for layer, head in value:
        if not (0 <= layer < model.cfg.n_layers and 0 <= head < model.cfg.n_heads):
            raise InvalidOutput(
                f"find_induction_circuit: on {where} it returned ({layer}, {head}), which is not a head: layers are "
                f"0 to {model.cfg.n_layers - 1}, heads 0 to {model.cfg.n_heads - 1}"
            )
        heads.append((layer, head))
    return sorted(set(heads))


def _names(heads: list[_circuits.Head]) -> str:
    return ", ".join(f"L{layer}.H{head}" for layer, head in heads)
