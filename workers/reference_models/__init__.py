"""Reference models: small TransformerLens models (and toy models) built locally by deterministic recipes.

    from workers import reference_models

    model = reference_models.load("sentiment-2l")            # verified sha256, on the worker's device
    key = reference_models.answer_key("induction-2l")       # trusted grading code only
    mine = reference_models.variant("induction-2l", seed)   # the same function in other weights and head order

The catalogue (``MODELS``) names each model, what it shows and who may see it; checkpoints and their
metadata live in ``fixtures/reference_models/``. Importing this package (as the sandbox zygote does) never
imports how a model was built: ``recipes``, ``training`` and ``measurements`` are for
``manage.py build_reference_models [NAME]`` only, since a recipe rebuilds trained weights, which can be an
exercise's answer or a hidden model.
"""

from __future__ import annotations

from typing import Any

from workers.reference_models.catalogue import MODELS, ReferenceModel, get
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
from workers.reference_models.reparameterise import (
    Reparameterisation,
    applies_to,
    apply_to_state,
    portable_variant,
    reparameterisation,
    reparameterise_in_place,
    reparameterised,
    variant,
    variant_state,
)

__all__ = [
    "MODELS", "ChecksumMismatch", "ReferenceModel", "Reparameterisation", "answer_key", "applies_to", "apply_to_state",
    "default_device", "device_of", "from_portable", "get", "load", "metadata", "portable", "portable_variant",
    "preload", "reparameterisation", "reparameterise_in_place", "reparameterised", "variant", "variant_state",
]


def preload() -> dict[str, Any]:
    """For ``Sandbox(preload=...)``: every TransformerLens reference model, for the sandbox children to use.

    Answer keys are never part of it, nor models marked ``in_sandbox=False`` (a trained toy model's
    weights would be the answer to the superposition exercise), nor ``hidden`` ones: any learner code
    (a playground run, another exercise) could find those in its child and hard-code their circuit.
    An exercise that runs learner code on a hidden model hands it to that one child (``portable_variant``).
    Loaded on the CPU: the zygote must not initialise CUDA (its children could not use it); the sandbox
    moves them to the GPU in each child. Each child gives the learner their own variant
    (``reparameterise_in_place``); computing one variant here, once, leaves NumPy's first-call set-up in
    the zygote rather than in every run.
    """
    models = {name: load(name, "cpu") for name, model in MODELS.items() if model.in_sandbox and not model.hidden}
    for model in models.values():
        variant_state(model, 0)
    return models
