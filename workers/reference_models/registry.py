"""The named reference models: for each, how to build it from scratch and how to make an empty one to load into."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workers.reference_models import induction, sentiment, superposition
from workers.reference_models.checkpoints import Built
from workers.reference_models.training import attn_only_transformer, deterministic, train_next_token


@dataclass(frozen=True)
class ReferenceModel:
    name: str
    shows: str  # what a learner can find in it
    steps: int
    recipe: Callable[[int], Built]  # steps -> Built; deterministic
    empty: Callable[[dict[str, Any]], nn.Module]  # stored config -> untrained module of the right shape
    hidden: bool = False  # never shown or downloadable: used to catch solutions that hard-code the public model
    in_sandbox: bool = True  # preloaded for sandbox children; False where the weights are an exercise's answer

    def build(self, steps: int | None = None) -> Built:
        started = time.perf_counter()
        built = self.recipe(self.steps if steps is None else steps)
        built.build_seconds = round(time.perf_counter() - started, 2)
        return built


def _empty_transformer(config: dict[str, Any]) -> nn.Module:
    return attn_only_transformer(config, seed=0)


def _induction_recipe(seed: int, head_order: list[int] | None = None) -> Callable[[int], Built]:
    lr, batch_size = 3e-3, 32

    def recipe(steps: int) -> Built:
        with deterministic(seed) as generator:
            model = attn_only_transformer(induction.CONFIG, seed)
            loss = train_next_token(model, lambda g: induction.batch(g, batch_size), generator, steps, lr)
        if head_order is not None:
            permute_heads(model, head_order)
        probe = induction.repeated_random_tokens(torch.Generator().manual_seed(seed + 1))
        return Built(
            state=model.state_dict(), config=induction.CONFIG, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.induction.batch", "optimiser": "AdamW", "lr": lr,
                    "weight_decay": 0.01, "batch_size": batch_size, "threads": 1,
                    "head_order_after_training": head_order},
            metrics={"final_train_loss": round(loss, 4), **induction.behaviour(model, probe)},
            answer_key=induction.answer_key(model, probe),
        )

    return recipe


def permute_heads(model: nn.Module, order: list[int]) -> None:
    """Reorder every layer's heads (new head h is old head ``order[h]``); the function computed is unchanged."""
    cfg = model.cfg
    index = torch.tensor([old * cfg.d_head + i for old in order for i in range(cfg.d_head)])
    state = model.state_dict()
    for layer in range(cfg.n_layers):
        prefix = f"blocks.{layer}.attn"
        for part in "qkv":
            state[f"{prefix}.{part}.weight"] = state[f"{prefix}.{part}.weight"][index]
            state[f"{prefix}.{part}.bias"] = state[f"{prefix}.{part}.bias"][index]
        state[f"{prefix}.o.weight"] = state[f"{prefix}.o.weight"][:, index]
    model.load_state_dict(state)


def _sentiment_recipe(seed: int) -> Callable[[int], Built]:
    # Label smoothing keeps the sentiment direction from swamping the residual stream's variance; without it
    # sentiment was 85% of the variance at the probe's hook and probes fit on shuffled labels landed on it.
    lr, batch_size, label_smoothing = 3e-3, 64, 0.1

    def recipe(steps: int) -> Built:
        with deterministic(seed) as generator:
            model = attn_only_transformer(sentiment.CONFIG, seed)
            loss = train_next_token(
                model, lambda g: sentiment.batch(g, batch_size), generator, steps, lr, label_smoothing=label_smoothing
            )
        return Built(
            state=model.state_dict(), config=sentiment.CONFIG, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.sentiment.batch", "optimiser": "AdamW", "lr": lr,
                    "weight_decay": 0.01, "batch_size": batch_size, "label_smoothing": label_smoothing, "threads": 1},
            metrics={"final_train_loss": round(loss, 4), **sentiment.behaviour(model)},
        )

    return recipe


def _superposition_recipe(n_features: int, d_hidden: int, sparsity: float, seed: int) -> Callable[[int], Built]:
    config = {"n_features": n_features, "d_hidden": d_hidden, "sparsity": sparsity}

    def recipe(steps: int) -> Built:
        with deterministic(seed) as generator:
            model = superposition.ToyModel(**config)
            loss = superposition.train(model, generator, steps)
        return Built(
            state=model.state_dict(), config=config, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.superposition.sparse_features", "optimiser": "Adam",
                    "lr": 1e-3, "batch_size": 1024, "importance": "0.9 ** i", "threads": 1},
            metrics={"final_train_loss": round(loss, 5), **superposition.geometry(model)},
        )

    return recipe


def _toy(n: int, d: int, sparsity: float) -> ReferenceModel:
    return ReferenceModel(
        name=f"toy-superposition-{n}x{d}-s{sparsity}",
        shows=f"{n} sparse features in {d} dimensions at sparsity {sparsity}: how many it packs, at what interference",
        steps=5000,
        recipe=_superposition_recipe(n, d, sparsity, seed=0),
        empty=lambda config: superposition.ToyModel(**config),
        in_sandbox=False,
    )


MODELS: dict[str, ReferenceModel] = {
    model.name: model
    for model in [
        ReferenceModel(
            name="induction-2l",
            shows="a previous-token head in layer 0 and induction heads in layer 1 "
                  "(The cat sat on the mat. The cat → sat)",
            steps=2000, recipe=_induction_recipe(seed=1), empty=_empty_transformer,
        ),
        ReferenceModel(
            name="induction-2l-alt",
            shows="the same circuit from another seed with its heads permuted, so it sits at other indices",
            steps=2000, recipe=_induction_recipe(seed=2, head_order=[2, 3, 0, 1]), empty=_empty_transformer,
            hidden=True,
        ),
        ReferenceModel(
            name="sentiment-2l",
            shows="a sentiment direction at blocks.1.hook_resid_pre that the model uses for its answer",
            steps=800, recipe=_sentiment_recipe(seed=11), empty=_empty_transformer,
        ),
        *[_toy(n, d, s) for n, d in [(5, 2), (20, 5)] for s in (0.7, 0.9, 0.99)],
    ]
}


def get(name: str) -> ReferenceModel:
    try:
        return MODELS[name]
    except KeyError:
        raise LookupError(f"no reference model {name!r}; known: {', '.join(MODELS)}") from None
