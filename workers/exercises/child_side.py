"""What every grading child runs, whatever the kind: the public run and the hidden runs.

The sandbox's warm parent imports this module to resolve these entries, and with it every exercise
kind: a confined child cannot import anything new (Landlock keeps it out of the project's files), so
each kind's child code must already be in memory. Nothing here or in a kind's module may hold a secret
at import time (see README "Worker host isolation").

- ``public_run``: the learner's code with public inputs and the learner's own variant of each public
  model the kind names (``variant``: a per-learner reparameterisation, so copied head indices or
  directions fail while code that measures passes).
- ``hidden_run``: the learner's code on one hidden model, in a child of its own, started quiet (no
  output reaches anyone); the model arrives as plain data, already reparameterised by the parent for
  this grading alone.
"""

from __future__ import annotations

from typing import Any

import torch

from workers.exercises.registry import all_kinds, get_kind
from workers.reference_models import from_portable, reparameterise
from workers.sandbox.child import resolve

all_kinds()  # imported into the warm parent now: a child could not import them later


def public_run(learner: dict[str, Any], inputs: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """``inputs``: the kind's slug, the public models it names, the learner's variant and the kind's inputs."""
    models = {name: preloaded[name] for name in inputs["models"] if name in preloaded}
    for model in models.values():
        if reparameterise.applies_to(model):  # this child's own copy: the canonical weights are gone from it
            reparameterise.reparameterise_in_place(model, inputs["variant"])
    return get_kind(inputs["kind"]).run_in_child(learner, inputs["inputs"], models)


def hidden_run(learner: dict[str, Any], inputs: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """``inputs``: the ``HiddenRun``'s entry (as "module:qualname"), its output name and the model as plain data."""
    entry = resolve(inputs["entry"])
    model = from_portable(inputs["model"], _device(preloaded))
    return {inputs["output"]: entry(learner, model)}


def _device(preloaded: dict[str, Any]) -> str:
    """Where this child's models live: on a GPU worker the sandbox moved the preloaded ones there."""
    for value in preloaded.values():
        if isinstance(value, torch.nn.Module):
            return str(next(value.parameters()).device)
    return "cpu"
