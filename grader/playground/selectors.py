"""Which reference checkpoints learners may download: the public ones (never the hidden second model, never a
model whose weights answer an exercise), each as the learner's own copy: the reparameterisation their
submissions and playground runs use, so what they explore offline is what is graded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LOAD_SNIPPET = """\
import json

import torch

from safetensors.torch import load_file
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge

name = "{name}"
config = json.load(open(f"{{name}}.json"))["config"]
model = TransformerBridge.boot_native(TransformerBridgeConfig(**config))
model.load_state_dict(load_file(f"{{name}}.safetensors"))
model.eval()
logits, cache = model.run_with_cache(torch.tensor([[0, 5, 6, 5]]))  # token 0 is <bos>
"""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    shows: str
    weights: Path
    metadata: Path
    sha256: str
    size_bytes: int

    @property
    def snippet(self) -> str:
        return LOAD_SNIPPET.format(name=self.name)


def downloadable_checkpoints() -> list[Checkpoint]:
    from workers.reference_models import MODELS, checkpoints

    found = []
    for name, model in MODELS.items():
        weights, metadata, _ = checkpoints.paths(name)
        if model.hidden or not model.in_sandbox or not weights.exists() or not metadata.exists():
            continue
        found.append(Checkpoint(name, model.shows, weights, metadata, checkpoints.read_metadata(name)["sha256"],
                                weights.stat().st_size))
    return found


def downloadable_checkpoint(name: str) -> Checkpoint | None:
    return next((c for c in downloadable_checkpoints() if c.name == name), None)


def learners_weights(checkpoint: Checkpoint, learner_id: int) -> bytes:
    """The checkpoint's verified weights reparameterised for the learner (NumPy only: no model is built here)."""
    import safetensors.numpy

    from grader.submissions.selectors import model_variant
    from workers.reference_models import portable_variant

    return safetensors.numpy.save(portable_variant(checkpoint.name, model_variant(learner_id))["state"])
