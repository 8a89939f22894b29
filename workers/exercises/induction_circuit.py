"""Induction-circuit knockout with a universality check (Practice Problem 3).

The learner writes ``find_induction_circuit(model)``. It runs on the learner's own variant of the public
``induction-2l`` (heads permuted and reparameterised per learner) and, in a hidden run (a quiet child of
its own, see ``HiddenRun``), on ``induction-2l-alt``: a model learners never see, whose circuit sits at
other head indices, freshly reparameterised for each grading. A function that hard-codes heads (the
public model's, or heads some earlier grading revealed) fails; one that measures attention passes.
Nothing about the hidden model reaches the learner but pass or fail per criterion: not the heads the
function returned there, not losses, not which heads were superfluous. For each model the parent
measures, on
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

The hidden model's result is worth more than the public one's, because it is the universality test,
but it counts only together with the public one: each grading's reparameterisation of the hidden model
is drawn so that the learner's public circuit, hard-coded, fails on it (measured), so no fixed list of
heads passes on both, however often it is resubmitted.
The stored answer key is only shown to instructors as a cross-check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pydantic

from workers import reference_models
from workers.exercises import _circuits, _feedback, contract
from workers.exercises._arrays import from_learner, require_function
from workers.exercises.base import Check, ExerciseKind, Grade, HiddenRun, InvalidOutput
from workers.reference_models import reparameterise

PUBLIC, HIDDEN = "induction-2l", "induction-2l-alt"
FUNCTION = "find_induction_circuit"
PUBLIC_OUTPUT, HIDDEN_OUTPUT = f"{FUNCTION}(your model)", f"{FUNCTION}(hidden model)"  # named for messages
_MAX_HEADS = 64
NOT_SHOWN = "not shown"  # the value of a check on the hidden model


TOGETHER = (
    "Heads you left out still carry part of the behaviour. Ablating heads one at a time misses heads that matter "
    "only together: when two induction heads (or two previous-token heads) do the same job, removing one costs "
    "little because the other covers for it, so each stays under a per-head loss cut-off. Look at attention "
    "patterns (previous-token and induction scores), or ablate every head you did not pick at once and add back "
    "those whose removal costs loss."
)
ZERO_ABLATION = (
    "A head you return adds nothing when the grader mean-ablates it (replaces its output by its mean over the "
    "probe sequences). If you picked heads by zero-ablating them one at a time: setting a head's output to zero "
    "removes its average output as well as what it computes from the tokens, so a head that mostly adds a "
    "near-constant vector raises the loss when zeroed, yet does nothing for induction. Mean-ablate instead, or "
    "pick heads by their attention patterns."
)


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
        "heads that do not cost points).\n\n"
        "Your copy of the reference model has its heads in an order of its own (every learner's does, and the "
        "hidden model is reshuffled for every grading), so heads copied from someone else fail too. About the "
        "hidden model you learn only whether each criterion passed: what your function prints there is dropped, "
        "and an error there is reported by its built-in type only."
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
        superfluous_cost: float = pydantic.Field(
            0.25, ge=0, le=1, description="Points lost per superfluous head on the public model (of one); on the hidden "
            "model a padded circuit keeps a quarter, as only pass or fail is shown there."
        )
        hidden_weight: float = pydantic.Field(0.7, ge=0, le=1, description="Share of the score from the hidden model.")
        seed: int = pydantic.Field(23, description="Seed of the probe sequences.")

    def reference_models(self) -> list[str]:
        return [PUBLIC, HIDDEN]

    def hidden_runs(self) -> list[HiddenRun]:
        return [HiddenRun(output=HIDDEN_OUTPUT, model=HIDDEN, entry=InductionCircuit.heads_on, function=FUNCTION)]

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        return {PUBLIC_OUTPUT: InductionCircuit.heads_on(learner, models[PUBLIC])}

    def hidden_variant_differs(self, run: HiddenRun, variant: int, hidden_seed: int) -> bool:
        """The learner's public circuit, hard-coded, fails on this reparameterisation of the hidden model.

        Measured, not guessed from indices: knockouts are the same on any reparameterisation once heads are
        mapped, so the learner's circuit is mapped to the stored hidden model's heads and knocked out there.
        """
        public = reparameterise.reparameterisation(PUBLIC, variant).answer_key(reference_models.answer_key(PUBLIC))
        hidden = reparameterise.reparameterisation(HIDDEN, hidden_seed)
        heads = [(layer, hidden.original_head(layer, head))
                 for layer, head in public["induction_heads"] + public["previous_token_heads"]]
        knockout = self._knockout(reference_models.load(HIDDEN), heads)
        return not (knockout.necessity >= self.config.necessity_min and knockout.sufficiency <= self.config.sufficiency_max)

    @staticmethod
    def heads_on(learner: dict[str, Any], model: Any) -> Any:
        """In a child: what the learner's function returns for ``model``, as an array of pairs (or what it was)."""
        heads = from_learner(require_function(learner, FUNCTION, "model")(model))
        return heads.reshape(0, 2) if isinstance(heads, np.ndarray) and heads.size == 0 else heads

    def outputs(self) -> contract.Record:
        """Integer (layer, head) pairs: the bounds come from the stored configs, never from a child's model."""
        return contract.Record({PUBLIC_OUTPUT: _pairs(PUBLIC), HIDDEN_OUTPUT: _pairs(HIDDEN)})

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        c = self.config
        results = {which: self._knockout(models[name], _heads(outputs[output], name, which))
                   for which, name, output in (("public", PUBLIC, PUBLIC_OUTPUT), ("hidden", HIDDEN, HIDDEN_OUTPUT))}
        checks, parts = [], {}
        for which, label in (("public", "reference model"), ("hidden", "hidden model")):
            result = results[which]
            necessary = result.necessity >= c.necessity_min
            sufficient = result.sufficiency <= c.sufficiency_max
            minimal = not result.superfluous
            if which == "public":
                checks += [
                    Check(f"{label}: necessity", necessary, round(result.necessity, 3), c.necessity_min,
                          f"ablating your heads loses {result.necessity:.0%} of what ablating every head loses"),
                    Check(f"{label}: sufficiency", sufficient, round(result.sufficiency, 3), c.sufficiency_max,
                          f"keeping only your heads loses {result.sufficiency:.0%} of it"),
                    Check(f"{label}: minimality", minimal, len(result.superfluous), 0,
                          "no head can be dropped" if minimal else f"{_names(result.superfluous)} add(s) nothing"),
                ]
            else:  # pass or fail only: a measured value would tell something about the hidden model
                checks += [
                    Check(f"{label}: necessity", necessary, NOT_SHOWN, c.necessity_min, _verdict(necessary)),
                    Check(f"{label}: sufficiency", sufficient, NOT_SHOWN, c.sufficiency_max, _verdict(sufficient)),
                    Check(f"{label}: minimality", minimal, NOT_SHOWN, 0, _verdict(minimal)),
                ]
            # On the hidden model the count of superfluous heads would tell about it: a padded circuit keeps a quarter.
            padding_cost = c.superfluous_cost * len(result.superfluous) if which == "public" else 0.75 * (not minimal)
            parts[which] = (necessary and sufficient) * max(0.0, 1 - padding_cost)
        # The hidden part counts only with the public one: a fixed guess can never pass on the learner's own model
        # and on the hidden one at once (see hidden_variant_differs), so no hard-coded answer reaches half marks.
        score = parts["public"] * ((1 - c.hidden_weight) + c.hidden_weight * parts["hidden"])
        public = results["public"]
        return Grade(
            score=round(score, 4),
            max_score=1.0,
            checks=checks,
            feedback=self._feedback(results, parts),
            metrics={"public": {"heads": [list(h) for h in public.heads], "necessity": round(public.necessity, 4),
                                "sufficiency": round(public.sufficiency, 4),
                                "superfluous": [list(h) for h in public.superfluous],
                                **{k: round(v, 4) for k, v in public.losses.items()}},
                     "hidden": {"passed": bool(parts["hidden"] == 1.0)}},
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
        public, hidden = results["public"], results["hidden"]
        lines = [
            f"- **Your copy of the reference model**: your heads {_names(public.heads) or 'none'}. Ablating them "
            f"loses {public.necessity:.0%} of what ablating every head loses (need ≥ {c.necessity_min:.0%}); keeping "
            f"only them loses {public.sufficiency:.0%} (need ≤ {c.sufficiency_max:.0%})"
            + (f"; {_names(public.superfluous)} add(s) nothing and cost points" if public.superfluous else "") + ".",
            "- **Hidden model**: necessity "
            + _verdict(hidden.necessity >= c.necessity_min) + ", sufficiency "
            + _verdict(hidden.sufficiency <= c.sufficiency_max) + ", minimality " + _verdict(not hidden.superfluous)
            + " (only pass or fail is shown: the heads and losses there would tell you about the hidden model).",
        ]
        # Only the learner's own copy: a note about the hidden model would tell how close its numbers are.
        near = _feedback.near_threshold(
            (("necessity on your copy", public.necessity, c.necessity_min, ".1%"),
             ("sufficiency on your copy", public.sufficiency, c.sufficiency_max, ".1%")),
            "Another model (the hidden one, or another learner's copy) can land on the other side: a circuit "
            "found by a method that measures what every head does passes with a clear margin.")
        if near:
            lines.append(f"- {near}")
        public_sufficient = public.sufficiency <= c.sufficiency_max
        if public.necessity >= c.necessity_min and not public_sufficient:
            lines.append("\n" + TOGETHER)
        if parts["public"] and not parts["hidden"]:
            lines.append(
                "\nYour function finds the circuit in your copy of the reference model but not in the hidden one, "
                "whose heads sit elsewhere. If you named indices, measure attention patterns instead: the same "
                "algorithm lives at different places in different models. If you measured, your cut-off may fit "
                "one model and not the other: " + TOGETHER[0].lower() + TOGETHER[1:]
            )
        if public.superfluous or (parts["public"] and hidden.superfluous):
            lines.append("\n" + ZERO_ABLATION)
        return "\n".join(lines)


def _pairs(name: str) -> contract.Array:
    config = reference_models.metadata(name)["config"]
    return contract.Array(shape=(None, 2), dtype="int", bounds=(0, max(config["n_layers"], config["n_heads"]) - 1),
                          what="a list of (layer, head) pairs")


def _heads(pairs: np.ndarray, name: str, which: str) -> list[_circuits.Head]:
    """Validated pairs as heads of ``name``: every pair a real head of the stored config, at most ``_MAX_HEADS``."""
    where = "your copy of the reference model" if which == "public" else "the hidden model"
    config = reference_models.metadata(name)["config"]
    n_layers, n_heads = config["n_layers"], config["n_heads"]
    if len(pairs) > _MAX_HEADS:
        count = f" {len(pairs)}" if which == "public" else " more"
        raise InvalidOutput(f"{FUNCTION}: expected at most {_MAX_HEADS} heads; on {where} it returned{count}")
    for layer, head in pairs.tolist():
        if not (layer < n_layers and head < n_heads):
            shown = f" ({layer}, {head})" if which == "public" else ""
            raise InvalidOutput(
                f"{FUNCTION}: on {where} it returned a pair{shown} that is not a head: layers are 0 to "
                f"{n_layers - 1}, heads 0 to {n_heads - 1}"
            )
    return sorted({(int(layer), int(head)) for layer, head in pairs.tolist()})


def _verdict(passed: bool) -> str:
    return "passed" if passed else "failed"


def _names(heads: list[_circuits.Head]) -> str:
    return ", ".join(f"L{layer}.H{head}" for layer, head in heads)
