"""Causal scrubbing of an induction head (Worked Example 3, Practice Problem 5).

The learner names a node, one head's output ``blocks.L.attn.hook_z``, and states a hypothesis about it
as a resampling: ``resample(tokens, position)`` returns, for every sequence, another input that the
hypothesis says gives the node the same output *at that position*; ``control_resample`` returns inputs
that the hypothesis says change it. The child only calls those two functions; the parent patches the
node's output at each position in from the resampled inputs and measures, where induction applies,

    loss recovered = (L_ablated − L_scrubbed) / (L_ablated − L_clean)

with L_ablated the loss when the node's output at those positions is replaced by its mean. Resampling is per position, as in
causal scrubbing: one input cannot keep every position's hypothesis at once and still change much.

Thresholds, measured on ``induction-2l`` (probe seed 11; bench/circuit_calibration.py): for each of
its three induction heads L1.H0, L1.H2, L1.H3 (mean-ablation effects 0.53, 0.38, 0.36 nats) the
reference hypothesis ("the head's output at a position depends only on the current word and the word
after its previous occurrence") recovers 1.33–1.37 while changing 93% of tokens (above 1: its inputs
hold exactly one previous occurrence, while random probes sometimes repeat a word), and its control
(another word after the previous occurrence) recovers −0.46 to −0.62. The identity recovers 1.0 with
0% changed (hence the minimum change of 50%), a random resample −0.40, a control equal to the
hypothesis 1.34. L1.H1 and the layer-0 heads move the loss there by less than 0.05 nats (ablated at
the scrubbed positions only), hence the minimum node effect of 0.2.

Marks: full for a hypothesis that holds (a node that matters, at least ``min_changed`` of the tokens
changed, ``recovered_pass`` recovered) together with a control that breaks the behaviour; a quarter for
the hypothesis alone; nothing otherwise: a control is only evidence next to a hypothesis that holds
(a random control breaks any behaviour). On a node that does not matter there is nothing to recover,
so no recovery is measured or shown.

Learners may receive their own reparameterisation of the model (heads permuted), so the interface lets
them choose the node by measuring: ``choose_node(model)``, when defined, is called with their model
and replaces ``NODE``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pydantic
import torch

from workers.exercises import _circuits, _feedback, contract
from workers.exercises._arrays import from_learner, require_function, unusable
from workers.exercises.base import Check, ExerciseKind, Grade
from workers.reference_models import induction

MODEL = "induction-2l"
_LAYERS, _HEADS = induction.CONFIG["n_layers"], induction.CONFIG["n_heads"]  # the parent's own numbers
_NODE_EXPECTED = f'("blocks.L.attn.hook_z", H) with L from 0 to {_LAYERS - 1}'


class ScrubInduction(ExerciseKind):
    slug = "scrub-induction"
    title = "Causal scrubbing of an induction head"
    learner_interface = (
        "Define three things.\n\n"
        "- `NODE = (\"blocks.L.attn.hook_z\", H)`: the head whose output you make a hypothesis about "
        "(layer `L`, head `H` of the `induction-2l` reference model, which you can explore with **Run**). "
        "Head indices can differ between copies of the model, so you may instead define "
        "`choose_node(model)` returning such a pair: it is called with the model your code is graded on, "
        "and replaces `NODE`.\n"
        "- `resample(tokens, position)`: `tokens` is a `LongTensor` of shape `[64, 21]` (`<bos>` = 0, then 10 random "
        f"word ids in `1..{len(induction.VOCAB) - 1}`, then the same 10 again). Return a `LongTensor` of the same shape: "
        "for every sequence, another input on which your hypothesis says the head's output **at `position`** is "
        "the same. It is called once for each position inside the repeat (11 to 19).\n"
        "- `control_resample(tokens, position)`: the same, but inputs on which your hypothesis says the head's "
        "output at `position` changes, so the behaviour should break.\n\n"
        "The grader patches the head's output at each position in from your resampled inputs and reports the "
        "**loss recovered** $(L_\\text{ablated} - L_\\text{scrubbed}) / (L_\\text{ablated} - L_\\text{clean})$ on "
        "the next-token loss inside the repeat, where $L_\\text{ablated}$ replaces the head's output by its mean. "
        "To pass, your hypothesis must recover at least 0.9 while changing at least half of the tokens "
        "(returning `tokens` unchanged is not a hypothesis), and your control must recover at most 0.3. "
        "A control counts only next to a hypothesis that holds: the hypothesis alone earns a quarter of the "
        "marks, both together full marks."
    )
    starter_code = (
        "import torch\n\n"
        "NODE = (\"blocks.1.attn.hook_z\", 0)  # which head? look at the attention patterns first\n\n\n"
        "def resample(tokens, position):\n"
        "    # An input on which your hypothesis says the head's output at `position` is unchanged.\n"
        "    return tokens.clone()\n\n\n"
        "def control_resample(tokens, position):\n"
        "    # An input on which your hypothesis says it changes.\n"
        "    return torch.randint(1, 60, tokens.shape)\n"
    )

    class Config(ExerciseKind.Config):
        recovered_pass: float = pydantic.Field(0.9, description="Least loss recovered by the hypothesis.")
        control_max: float = pydantic.Field(0.3, description="Most loss recovered by the control.")
        min_changed: float = pydantic.Field(0.5, ge=0, le=1, description="Least share of tokens the resample changes.")
        min_node_effect: float = pydantic.Field(
            0.2, ge=0, description="Least rise in loss (nats) when the node is mean-ablated: below it there is nothing to explain."
        )
        seed: int = pydantic.Field(11, description="Seed of the probe sequences.")

    reference_solution = (
        "import torch\n\n"
        "VOCAB = 60\n\n\n"
        "def choose_node(model):\n"
        "    # The layer-1 head that attends most from each repeated word to the word after its first occurrence.\n"
        "    words = torch.randint(1, model.cfg.d_vocab, (32, 10), generator=torch.Generator().manual_seed(0))\n"
        "    tokens = torch.cat([torch.zeros(32, 1, dtype=torch.long), words, words], dim=1)\n"
        "    _, cache = model.run_with_cache(tokens.to(model.cfg.device))\n"
        "    pattern = cache[\"blocks.1.attn.hook_pattern\"]  # [batch, head, query, key]\n"
        "    # query q in 11..19 holds the word first seen at q - 10, followed by the word at q - 9\n"
        "    scores = pattern.diagonal(offset=-9, dim1=-2, dim2=-1)[..., 2:11].mean(dim=(0, 2))\n"
        "    return (\"blocks.1.attn.hook_z\", int(scores.argmax()))\n\n\n"
        "def _input_with(tokens, position, after):\n"
        "    # Random words, except: the current word at `position`, and one earlier occurrence of it followed by\n"
        "    # `after`. Filler never repeats the current word, so that occurrence is the only one.\n"
        "    batch, length = tokens.shape\n"
        "    current = tokens[:, position:position + 1]\n"
        "    filler = torch.randint(1, VOCAB - 1, (batch, length))\n"
        "    new = filler + (filler >= current).long()\n"
        "    new[:, 0] = tokens[:, 0]\n"
        "    earlier = torch.randint(1, position - 1, (batch,))\n"
        "    rows = torch.arange(batch)\n"
        "    new[rows, earlier] = current[:, 0]\n"
        "    new[rows, earlier + 1] = after\n"
        "    new[:, position] = current[:, 0]\n"
        "    return new\n\n\n"
        "def resample(tokens, position):\n"
        "    # Hypothesis: the head's output depends only on the current word and the word after its previous occurrence.\n"
        "    previous = position - (tokens.shape[1] - 1) // 2\n"
        "    return _input_with(tokens, position, tokens[:, previous + 1])\n\n\n"
        "def control_resample(tokens, position):\n"
        "    # Control: same, but another word follows the previous occurrence; the head should copy that instead.\n"
        "    previous = position - (tokens.shape[1] - 1) // 2\n"
        "    after = tokens[:, previous + 1]\n"
        "    other = (after + torch.randint(1, VOCAB - 2, after.shape) - 1) % (VOCAB - 1) + 1\n"
        "    return _input_with(tokens, position, other)\n"
    )

    def reference_models(self) -> list[str]:
        return [MODEL]

    def child_inputs(self) -> dict[str, Any]:
        return {"tokens": _circuits.repeated_tokens(self.config.seed).numpy(), "positions": _circuits.induction_positions()}

    @staticmethod
    def run_in_child(learner: dict[str, Any], inputs: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
        choose = learner.get("choose_node")
        node = choose(models[MODEL]) if callable(choose) else learner.get("NODE")
        resample = require_function(learner, "resample", "tokens, position")
        control = require_function(learner, "control_resample", "tokens, position")
        tokens = torch.from_numpy(inputs["tokens"])
        outputs: dict[str, Any] = {"NODE": _node_data(node)}
        for name, function in (("resample", resample), ("control_resample", control)):
            outputs[name] = [from_learner(function(tokens.clone(), position)) for position in inputs["positions"]]
        return outputs

    def outputs(self) -> contract.Record:
        hook = contract.Text(40, rf"blocks\.[0-{_LAYERS - 1}]\.attn\.hook_z", f"a hook name in {_NODE_EXPECTED}")
        node = contract.Record({"hook": hook, "head": contract.Integer(0, _HEADS - 1)}, what=f"NODE = {_NODE_EXPECTED}")
        positions = len(_circuits.induction_positions())
        batch = contract.Array(shape=tuple(_circuits.repeated_tokens(self.config.seed).shape), dtype="int",
                               bounds=(0, len(induction.VOCAB) - 1), what="token ids (a LongTensor)")
        calls = contract.ListOf(batch, min_len=positions, max_len=positions)
        return contract.Record({"NODE": node, "resample": calls, "control_resample": calls})

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        c = self.config
        model = models[MODEL]
        layer, head = int(outputs["NODE"]["hook"].split(".")[1]), outputs["NODE"]["head"]
        tokens = _circuits.repeated_tokens(c.seed)
        positions = _circuits.induction_positions()
        resampled = torch.from_numpy(np.stack(outputs["resample"]))
        control = torch.from_numpy(np.stack(outputs["control_resample"]))

        clean = _circuits.loss_at(model, tokens, positions)
        ablated = _circuits.loss_at(model, tokens, positions, _ablate(model, tokens, layer, head, positions))
        effect = ablated - clean
        changed = float((resampled[:, :, 1:] != tokens[None, :, 1:]).float().mean())
        control_changed = float((control[:, :, 1:] != tokens[None, :, 1:]).float().mean())
        matters = effect >= c.min_node_effect and effect > 0
        # Recovery is a share of the node's effect: measured only where there is one.
        recovered = control_recovered = hypothesis_loss = control_loss = None
        if matters:
            hypothesis_loss = _circuits.loss_at(model, tokens, positions, _patch(model, layer, head, resampled, positions))
            control_loss = _circuits.loss_at(model, tokens, positions, _patch(model, layer, head, control, positions))
            recovered = (ablated - hypothesis_loss) / effect
            control_recovered = (ablated - control_loss) / effect

        name = f"L{layer}.H{head}"
        not_measured = f"not measured: {name} has no effect to recover"
        checks = [
            Check("the node matters", matters, round(effect, 4), c.min_node_effect,
                  f"mean-ablating {name} changes the loss inside the repeat by {effect:+.3f} nats"),
            Check("resample changes the input", changed >= c.min_changed, round(changed, 3), c.min_changed,
                  f"{changed:.0%} of tokens changed"),
            Check("hypothesis recovers the loss", matters and recovered >= c.recovered_pass,
                  None if recovered is None else round(recovered, 3), c.recovered_pass,
                  not_measured if recovered is None else f"loss recovered {recovered:.3f}"),
            Check("control breaks the behaviour", matters and control_recovered <= c.control_max,
                  None if control_recovered is None else round(control_recovered, 3), c.control_max,
                  not_measured if control_recovered is None else f"control recovers {control_recovered:.3f}"),
        ]
        hypothesis_holds = checks[0].passed and checks[1].passed and checks[2].passed
        score = (1.0 if checks[3].passed else 0.25) if hypothesis_holds else 0.0
        return Grade(
            score=score,
            max_score=1.0,
            checks=checks,
            feedback=self._feedback(name, clean, ablated, hypothesis_loss, control_loss, recovered,
                                    control_recovered, changed, control_changed, checks, hypothesis_holds),
            metrics={"node": [layer, head], "clean_loss": round(clean, 4), "ablated_loss": round(ablated, 4),
                     "scrubbed_loss": _rounded(hypothesis_loss), "control_loss": _rounded(control_loss),
                     "loss_recovered": _rounded(recovered), "control_loss_recovered": _rounded(control_recovered),
                     "changed": round(changed, 4), "control_changed": round(control_changed, 4)},
        )

    def _feedback(self, name: str, clean: float, ablated: float, hypothesis_loss: float | None,
                  control_loss: float | None, recovered: float | None, control_recovered: float | None,
                  changed: float, control_changed: float, checks: list[Check], hypothesis_holds: bool) -> str:
        """What was measured, then under "Not yet" each failing criterion with a step to take; nothing
        that was not measured is shown as a number."""
        c = self.config
        effect = ablated - clean
        lines = [f"Node: {name}. Loss inside the repeat: clean {clean:.3f}, node mean-ablated {ablated:.3f}"]
        if recovered is None:
            lines[0] += (f". Mean-ablating {name} changes the loss by only {effect:+.3f} nats (a node that matters "
                         f"raises it by at least {c.min_node_effect}), so there is no effect for a hypothesis to "
                         "recover: loss recovered was not measured for your hypothesis or your control.")
            lines.append(f"- Your resample changes {changed:.0%} of tokens (at least {c.min_changed:.0%}); "
                         f"your control {control_changed:.0%}.")
        else:
            lines[0] += f", scrubbed with your hypothesis {hypothesis_loss:.3f}, with your control {control_loss:.3f}."
            lines.append(f"- **Loss recovered by your hypothesis: {recovered:.2f}** (pass ≥ {c.recovered_pass}), "
                         f"changing {changed:.0%} of tokens (at least {c.min_changed:.0%}).")
            lines.append(f"- **Loss recovered by your control: {control_recovered:.2f}** (pass ≤ {c.control_max}), "
                         f"changing {control_changed:.0%} of tokens.")
            near = _feedback.near_threshold(
                (("loss recovered by your hypothesis", recovered, c.recovered_pass, ".3f"),
                 ("loss recovered by your control", control_recovered, c.control_max, ".3f")),
                "Another sample of probe sequences, or another draw of your resample, can land on the other side: "
                "a hypothesis that captures what the head reads recovers with a clear margin.")
            if near:
                lines.append(f"- {near}")
            if checks[3].passed and not hypothesis_holds:
                lines.append("- Your control breaks the behaviour, but a control only counts next to a hypothesis "
                             "that holds.")
        steps = {
            "the node matters": f"pick a head the behaviour relies on: mean-ablating {name} changes the loss by "
                                f"{effect:+.3f} nats (needs +{c.min_node_effect}); look for heads that attend to the "
                                "word after the current word's previous occurrence",
            "resample changes the input": f"your resample changes {changed:.0%} of tokens (needs "
                                          f"{c.min_changed:.0%}): a hypothesis says what may change, so keep only "
                                          "what it says the head reads and draw the rest anew",
            "hypothesis recovers the loss": f"your hypothesis recovers {recovered or 0:.2f} (needs "
                                            f"{c.recovered_pass}): the head reads something your resample does not "
                                            "keep; find what it attends to at each position",
            "control breaks the behaviour": f"your control recovers {control_recovered or 0:.2f} (needs at most "
                                            f"{c.control_max}): a control should change what your hypothesis says "
                                            "the head reads",
        }
        failing = [steps[check.name] for check in checks if not check.passed and check.value is not None]
        if failing:
            lines.append("\nNot yet:\n" + "\n".join(f"- {step[0].upper()}{step[1:]}." for step in failing))
        return "\n".join(lines)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _node_data(node: Any) -> dict[str, Any]:
    """The learner's node as plain data for the parent to check: a pair, or what it was instead."""
    if isinstance(node, (tuple, list)) and len(node) == 2:
        hook = node[0] if isinstance(node[0], str) else from_learner(node[0])
        return {"hook": hook, "head": from_learner(node[1])}
    if isinstance(node, (tuple, list)):
        return unusable(f"a {'tuple' if isinstance(node, tuple) else 'list'} of {len(node)} items")
    return from_learner(node)


def _ablate(model, tokens: torch.Tensor, layer: int, head: int, positions: list[int]) -> list[_circuits.Hook]:
    """Mean-ablate the head at the scrubbed positions only, so the ablation and the scrub change the same thing."""
    mean = _circuits.head_outputs(model, tokens, [layer])[layer][:, positions, head].mean(dim=0)

    def hook(z: torch.Tensor, hook: object) -> torch.Tensor:
        z = z.clone()
        z[:, positions, head] = mean
        return z

    return [(_circuits.head_output(layer), hook)]


def _patch(model, layer: int, head: int, resampled: torch.Tensor, positions: list[int]) -> list[_circuits.Hook]:
    """A hook giving the head, at each position, its output on that position's resampled inputs."""
    patched = {}
    for index, position in enumerate(positions):
        z = _circuits.head_outputs(model, resampled[index], [layer])[layer]
        patched[position] = z[:, position, head]

    def hook(z: torch.Tensor, hook: object) -> torch.Tensor:
        z = z.clone()
        for position, value in patched.items():
            z[:, position, head] = value
        return z

    return [(_circuits.head_output(layer), hook)]
