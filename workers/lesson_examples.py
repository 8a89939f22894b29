"""The lesson's Worked Example 3, run on the reference model instead of asserted.

Patch the induction head's output at the last "cat" of "The cat sat on the mat. The cat" with its output
at the last "dog" of "A dog ran in the park. The dog", and read the prediction. The seed lesson claims
"sat" survives; an induction head's output *carries the copied word*, so the patched model says "ran".
Trusted code: it reads the answer key to know which heads are induction heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workers import reference_models
from workers.exercises import _circuits
from workers.reference_models.induction import LESSON_EXAMPLES, VOCAB

MODEL = "induction-2l"
CLEAN, SOURCE = LESSON_EXAMPLES["sat"], LESSON_EXAMPLES["ran"]
EQUIVALENT = "A cat sat in the park. The cat"  # same current word, same word after its previous occurrence


@dataclass
class Prediction:
    top: str
    p_sat: float
    p_ran: float

    def __str__(self) -> str:
        return f'"{self.top}" (p(sat) = {self.p_sat:.3f}, p(ran) = {self.p_ran:.3f})'


@dataclass
class ScrubExample:
    heads: list[_circuits.Head]  # induction heads, strongest first
    clean: Prediction
    patched_strongest: Prediction  # only the strongest induction head patched
    patched_all: Prediction  # every induction head patched
    patched_equivalent: Prediction  # every induction head patched from EQUIVALENT

    def markdown(self) -> str:
        """The paragraph the lesson page shows, written from the measured numbers."""
        strongest = "L{}.H{}".format(*self.heads[0])
        every = ", ".join("L{}.H{}".format(*h) for h in self.heads)
        one = self.patched_strongest
        text = (
            f"**What the reference model actually does** (`{MODEL}`, measured by `manage.py lesson_example_3`). "
            f'On "{CLEAN}" it predicts {self.clean}. Patching the output (`hook_z`) of its strongest induction '
            f'head, {strongest}, at the last position with its output on "{SOURCE}" gives {one}: p(ran) rises from '
            f"{self.clean.p_ran:.3f} to {one.p_ran:.3f}"
        )
        if len(self.heads) > 1 and one.top == self.clean.top:
            text += (
                f", but this model has {len(self.heads)} induction heads ({every}) and the others still copy "
                f'"{self.clean.top}". Patching all of them gives {self.patched_all}'
            )
        text += (
            '. So the claim that "sat" survives is wrong: an induction head\'s output is not an abstract '
            '"copy the next token" signal but the copied word itself, read from the value at the attended '
            'position ("ran" in the dog sentence). The patch moves the prediction towards "ran", which is exactly '
            "what the hypothesis \"the head outputs the token after the previous occurrence\" predicts. A scrub "
            "that should preserve the behaviour must keep what the head reads, the current word and the word after "
            f'its previous occurrence: patching all induction heads from "{EQUIVALENT}" keeps {self.patched_equivalent}. '
            "The `scrub-induction` exercise grades exactly this kind of resampling."
        )
        return text


@torch.no_grad()
def run_example_3(device: str = "cpu") -> ScrubExample:
    model = reference_models.load(MODEL, device)
    key = reference_models.answer_key(MODEL)
    scores = key["scores"]["induction"]
    heads = sorted((tuple(h) for h in key["induction_heads"]), key=lambda h: -scores[h[0]][h[1]])
    clean = VOCAB.encode(CLEAN)[None]
    layers = {layer for layer, _ in heads}
    source, equivalent = (_circuits.head_outputs(model, _same_length(text, clean), layers) for text in (SOURCE, EQUIVALENT))
    return ScrubExample(
        heads=heads,
        clean=_predict(model, clean, []),
        patched_strongest=_predict(model, clean, _last_position_patch(source, heads[:1])),
        patched_all=_predict(model, clean, _last_position_patch(source, heads)),
        patched_equivalent=_predict(model, clean, _last_position_patch(equivalent, heads)),
    )


def _same_length(text: str, clean: torch.Tensor) -> torch.Tensor:
    tokens = VOCAB.encode(text)[None]
    if tokens.shape != clean.shape:
        raise ValueError(f"{text!r} must have as many words as {CLEAN!r}, so that positions line up")
    return tokens


def _last_position_patch(outputs: dict[int, torch.Tensor], heads: list[_circuits.Head]) -> list[_circuits.Hook]:
    def patch(layer: int, chosen: list[int]):
        def hook(z: torch.Tensor, hook: object) -> torch.Tensor:
            z = z.clone()
            z[:, -1, chosen] = outputs[layer][:, -1, chosen]
            return z

        return hook

    layers = sorted({layer for layer, _ in heads})
    return [(_circuits.head_output(l), patch(l, [h for layer, h in heads if layer == l])) for l in layers]


def _predict(model, tokens: torch.Tensor, hooks: list[_circuits.Hook]) -> Prediction:
    probs = model.run_with_hooks(tokens.to(model.cfg.device), fwd_hooks=hooks)[0, -1].softmax(-1).cpu()
    return Prediction(VOCAB.words[int(probs.argmax())], float(probs[VOCAB["sat"]]), float(probs[VOCAB["ran"]]))
