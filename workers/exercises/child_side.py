"""What every sandbox child runs, whatever the kind: the public run, the hidden runs, and playground runs.

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
- ``playground_run``: code run like a notebook cell with the learner's variant of one public model as
  ``model``, returning the matplotlib figures it left open.

Child entries live here, apart from the Celery tasks that start runs: the warm parent must never
import Celery or Django (their modules would be in every child's memory).
"""

from __future__ import annotations

import io
import linecache
from typing import Any

import numpy as np
import torch

from workers.exercises.registry import all_kinds, get_kind
from workers.reference_models import from_portable, reparameterise
from workers.sandbox.child import FILENAME, resolve

all_kinds()  # imported into the warm parent now: a child could not import them later


def public_run(learner: dict[str, Any], inputs: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """``inputs``: the kind's slug, the public models it names, the learner's variant and the kind's inputs."""
    models = {name: _learners_copy(preloaded[name], inputs["variant"]) for name in inputs["models"] if name in preloaded}
    return get_kind(inputs["kind"]).run_in_child(learner, inputs["inputs"], models)


def hidden_run(learner: dict[str, Any], inputs: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """``inputs``: the ``HiddenRun``'s entry (as "module:qualname"), its output name and the model as plain data."""
    entry = resolve(inputs["entry"])
    model = from_portable(inputs["model"], _device(preloaded))
    return {inputs["output"]: entry(learner, model)}


def playground_run(learner: dict[str, Any], inputs: dict[str, Any], preloaded: dict[str, Any]) -> dict[str, Any]:
    """Execute the learner's code with ``model`` defined (the sandbox's own module is empty), then collect the
    open figures as PNG bytes (at most ``max_figures``)."""
    from matplotlib import pyplot as plt

    code = inputs["code"]
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    model = _learners_copy(preloaded[inputs["model"]], inputs["variant"]) if inputs["model"] in preloaded else None
    namespace = {"__name__": "__main__", "model": model}
    plt.close("all")
    exec(compile(code, FILENAME, "exec", dont_inherit=True), namespace)
    figures = []
    for number in plt.get_fignums()[: inputs["max_figures"]]:
        buffer = io.BytesIO()
        plt.figure(number).savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        figures.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
    plt.close("all")
    return {"figures": figures}


def _learners_copy(model: Any, variant: int | None) -> Any:
    """The learner's variant of a preloaded model: this child's own copy, reparameterised in place, so the
    stored weights are gone from it. Models without these symmetries (none preloaded today) stay as they are."""
    if reparameterise.applies_to(model):
        reparameterise.reparameterise_in_place(model, variant)
    return model


def _device(preloaded: dict[str, Any]) -> str:
    """Where this child's models live: on a GPU worker the sandbox moved the preloaded ones there."""
    for value in preloaded.values():
        if isinstance(value, torch.nn.Module):
            return str(next(value.parameters()).device)
    return "cpu"
