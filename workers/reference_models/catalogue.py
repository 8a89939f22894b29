"""The named reference models: what each shows, who may see it, and the architecture its weights load into.

A static table with no recipes in it, so the sandbox zygote (which imports it to preload the public models)
and the web process can ask what a model is without importing anything that trains one. How each model
is built lives in ``recipes``, which only ``manage.py build_reference_models`` imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from workers.reference_models.architectures import ToyModel, attn_only_transformer


@dataclass(frozen=True)
class ReferenceModel:
    name: str
    shows: str  # what a learner can find in it
    empty: Callable[[dict[str, Any]], nn.Module]  # stored config -> untrained module of the right shape
    hidden: bool = False  # never shown or downloadable: used to catch solutions that hard-code the public model
    in_sandbox: bool = True  # preloaded for sandbox children; False where the weights are an exercise's answer


def _toy(n: int, d: int, sparsity: float) -> ReferenceModel:
    return ReferenceModel(
        name=f"toy-superposition-{n}x{d}-s{sparsity}",
        shows=f"{n} sparse features in {d} dimensions at sparsity {sparsity}: how many it packs, at what interference",
        empty=lambda config: ToyModel(**config),
        in_sandbox=False,
    )


MODELS: dict[str, ReferenceModel] = {
    model.name: model
    for model in [
        ReferenceModel(
            name="induction-2l",
            shows="a previous-token head in layer 0 and induction heads in layer 1 "
                  "(The cat sat on the mat. The cat → sat)",
            empty=attn_only_transformer,
        ),
        ReferenceModel(
            name="induction-2l-alt",
            shows="the same circuit from another seed with its heads permuted, so it sits at other indices",
            empty=attn_only_transformer,
            hidden=True,
        ),
        ReferenceModel(
            name="sentiment-2l",
            shows="a sentiment direction at blocks.1.hook_resid_pre that the model uses for its answer",
            empty=attn_only_transformer,
        ),
        *[_toy(n, d, s) for n, d in [(5, 2), (20, 5)] for s in (0.7, 0.9, 0.99)],
    ]
}


def get(name: str) -> ReferenceModel:
    try:
        return MODELS[name]
    except KeyError:
        raise LookupError(f"no reference model {name!r}; known: {', '.join(MODELS)}") from None
