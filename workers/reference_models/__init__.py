"""Reference models: small TransformerLens models (and toy models) built locally by deterministic recipes.

    from workers import reference_models

    model = reference_models.load("sentiment-2l")            # verified sha256, on the worker's device
    key = reference_models.answer_key("induction-2l")       # trusted grading code only

The registry (``registry.MODELS``) names each model, what it shows and its recipe; checkpoints and
their metadata live in ``fixtures/reference_models/`` and are rebuilt with
``manage.py build_reference_models [NAME]``.
"""

from __future__ import annotations

from typing import Any

from workers.reference_models.checkpoints import (
    ChecksumMismatch,
    default_device,
    device_of,
    from_portable,
    load,
    portable,
    read_answer_key as answer_key,
    read_metadata as metadata,
)
from workers.reference_models.registry import MODELS, ReferenceModel, get

__all__ = ["MODELS", "ChecksumMismatch", "ReferenceModel", "answer_key", "default_device", "device_of", "from_portable",
           "get", "load", "metadata", "portable", "preload"]


def preload() -> dict[str, Any]:
    """For ``Sandbox(preload=...)``: every TransformerLens reference model, for the sandbox children to use.

    Answer keys are never part of it, nor models marked ``in_sandbox=False`` (a trained toy model's
    weights would be the answer to the superposition exercise), nor ``hidden`` ones: any learner code
    (a playground run, another exercise) could find those in its child and hard-code their circuit.
    An exercise that runs learner code on a hidden model hands it to that one child (``portable``).
    Loaded on the CPU: the zygote must not initialise CUDA (its children could not use it); the sandbox
    moves them to the GPU in each child.
    """
    return {name: load(name, "cpu") for name, model in MODELS.items() if model.in_sandbox and not model.hidden}
