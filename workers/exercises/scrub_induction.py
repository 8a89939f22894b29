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
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pydantic
import torch

from workers.exercises import _circuits
from workers.exercises._arrays import from_learner
from workers.exercises.base import Check, ExerciseKind, Grade, InvalidOutput
from workers.reference_models import induction
from workers.sandbox.validation import require_function

MODEL = "induction-2l"
_NODE = re.compile(r"blocks\.(\d+)\.attn\.hook_z")


class ScrubInduction(ExerciseKind):
    slug = "scrub-induction"
    title = "Causal scrubbing of an induction head"
    learner_interface = (
        "Define three things.\n\n"
        "- `NODE = (\"blocks.L.attn.hook_z\", H)`: the head whose output you make a hypothesis about "
        "(layer `L`, head `H` of the `induction-2l` reference model, which you can explore with **Run**).\n"
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
        "(returning `tokens` unchanged is not a hypothesis), and your control must recover at most 0.3."
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
        "NODE = (\"blocks.1.attn.hook_z\", 0)  # the strongest induction head\n"
        "VOCAB = 60\n\n\n"
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
        node = learner.get("NODE")
        resample = require_function(learner, "resample", "tokens, position")
        control = require_function(learner, "control_resample", "tokens, position")
        tokens = torch.from_numpy(inputs["tokens"])
        outputs: dict[str, Any] = {"node": node if _is_node(node) else repr(node)[:200]}
        for name, function in (("resampled", resample), ("control", control)):
            batches = [from_learner(function(tokens.clone(), position)) for position in inputs["positions"]]
            bad = next((b for b in batches if isinstance(b, dict) or b.shape != tokens.shape), None)
            if isinstance(bad, np.ndarray):
                bad = {"not_an_array": f"a tensor of shape {list(bad.shape)}"}
            outputs[name] = bad if bad is not None else np.stack(batches)
        return outputs

    def grade(self, outputs: dict[str, Any], models: dict[str, Any], device: str) -> Grade:
        c = self.config
        model = models[MODEL]
        layer, head = self._node(outputs.get("node"), model)
        tokens = _circuits.repeated_tokens(c.seed)
        positions = _circuits.induction_positions()
        shape = (len(positions), *tokens.shape)
        resampled = self._tokens(outputs, "resampled", shape, model)
        control = self._tokens(outputs, "control", shape, model)

        clean = _circuits.loss_at(model, tokens, positions)
        ablated = _circuits.loss_at(model, tokens, positions, _ablate(model, tokens, layer, head, positions))
        effect = ablated - clean
        hypothesis_loss = _circuits.loss_at(model, tokens, positions, _patch(model, layer, head, resampled, positions))
        control_loss = _circuits.loss_at(model, tokens, positions, _patch(model, layer, head, control, positions))
        recovered = (ablated - hypothesis_loss) / effect if effect > 0 else 0.0
        control_recovered = (ablated - control_loss) / effect if effect > 0 else 0.0
        changed = float((resampled[:, :, 1:] != tokens[None, :, 1:]).float().mean())
        control_changed = float((control[:, :, 1:] != tokens[None, :, 1:]).float().mean())

        matters = effect >= c.min_node_effect
        checks = [
            Check("the node matters", matters, round(effect, 4), c.min_node_effect,
                  f"mean-ablating L{layer}.H{head} raises the loss inside the repeat by {effect:.3f} nats"
                  + ("" if matters else "; too little for the behaviour to depend on it: pick a head it relies on")),
            Check("resample changes the input", changed >= c.min_changed, round(changed, 3), c.min_changed,
                  f"{changed:.0%} of tokens changed" + ("" if changed >= c.min_changed else
                  "; a hypothesis must say what may change: keep only what it says the head reads")),
            Check("hypothesis recovers the loss", matters and recovered >= c.recovered_pass, round(recovered, 3),
                  c.recovered_pass, f"loss recovered {recovered:.3f}"),
            Check("control breaks the behaviour", matters and control_recovered <= c.control_max,
                  round(control_recovered, 3), c.control_max,
                  f"control recovers {control_recovered:.3f}" + ("" if control_recovered <= c.control_max else
                  "; a control should change what your hypothesis says the head reads")),
        ]
        hypothesis_holds = checks[0].passed and checks[1].passed and checks[2].passed
        score = 1.0 if hypothesis_holds and checks[3].passed else 0.25 if hypothesis_holds or checks[3].passed else 0.0
        feedback = (
            f"Node: L{layer}.H{head} (`{_circuits.head_output(layer)}`, head {head}). Loss inside the repeat: clean "
            f"{clean:.3f}, node mean-ablated {ablated:.3f}, scrubbed with your hypothesis {hypothesis_loss:.3f}, "
            f"with your control {control_loss:.3f}.\n\n"
            f"- **Loss recovered by your hypothesis: {recovered:.2f}** (pass ≥ {c.recovered_pass}), "
            f"changing {changed:.0%} of tokens (at least {c.min_changed:.0%}).\n"
            f"- **Loss recovered by your control: {control_recovered:.2f}** (pass ≤ {c.control_max}), "
            f"changing {control_changed:.0%} of tokens."
        )
        failed = [check.explanation for check in checks if not check.passed]
        if failed:
            feedback += "\n\nNot yet: " + "; ".join(failed) + "."
        return Grade(
            score=score,
            max_score=1.0,
            checks=checks,
            feedback=feedback,
            metrics={"node": [layer, head], "clean_loss": round(clean, 4), "ablated_loss": round(ablated, 4),
                     "scrubbed_loss": round(hypothesis_loss, 4), "control_loss": round(control_loss, 4),
                     "loss_recovered": round(recovered, 4), "control_loss_recovered": round(control_recovered, 4),
                     "changed": round(changed, 4), "control_changed": round(control_changed, 4)},
        )

    @staticmethod
    def _node(node: Any, model) -> tuple[int, int]:
        expected = 'NODE = ("blocks.L.attn.hook_z", H), e.g. ("blocks.1.attn.hook_z", 2)'
        if not _is_node(node):
            raise InvalidOutput(f"NODE: expected {expected}; got {node}")
        name, head = node
        match = _NODE.fullmatch(name)
        if match is None or int(match[1]) >= model.cfg.n_layers:
            raise InvalidOutput(
                f"NODE: {name!r} is not a head output of this model; expected blocks.L.attn.hook_z "
                f"with L from 0 to {model.cfg.n_layers - 1}"
            )
        if not 0 <= head < model.cfg.n_heads:
            raise InvalidOutput(f"NODE: head {head} does not exist; heads are numbered 0 to {model.cfg.n_heads - 1}")
        return int(match[1]), head

    @staticmethod
    def _tokens(outputs: dict[str, Any], name: str, shape: tuple[int, ...], model) -> torch.Tensor:
        function = "resample" if name == "resampled" else "control_resample"
        value = outputs.get(name)
        if not isinstance(value, np.ndarray):
            got = value.get("not_an_array", "something else") if isinstance(value, dict) else "nothing"
            raise InvalidOutput(f"{function}: expected a LongTensor of shape {list(shape[1:])} (the shape of tokens), got {got}")
        array = value
        if array.dtype.kind not in "iu":
            raise InvalidOutput(f"{function}: expected integer token ids (a LongTensor), got dtype {array.dtype}")
        if array.min() < 0 or array.max() >= model.cfg.d_vocab:
            raise InvalidOutput(f"{function}: token ids must lie in 0..{model.cfg.d_vocab - 1}; got {array.min()}..{array.max()}")
        return torch.from_numpy(array.astype(np.int64))


def _is_node(node: Any) -> bool:
    return (isinstance(node, (tuple, list)) and len(node) == 2 and isinstance(node[0], str)
            and isinstance(node[1], int) and not isinstance(node[1], bool))


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
