"""How each reference model is built from scratch: seed, steps, data, optimiser, and what is measured after.

Only ``manage.py build_reference_models`` (and the tests that rebuild a model) import this module: a recipe
reproduces a model's trained weights bit for bit, so nothing the sandbox zygote imports may import it. What
a model *is* (what it shows, hidden or not) is in ``catalogue``, which has no recipes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from workers.reference_models import catalogue, induction, measurements, sentiment, training
from workers.reference_models.architectures import ToyModel, attn_only_transformer
from workers.reference_models.checkpoints import Built


@dataclass(frozen=True)
class Recipe:
    name: str
    steps: int
    train: Callable[[int], Built]  # steps -> Built; deterministic

    def build(self, steps: int | None = None) -> Built:
        started = time.perf_counter()
        built = self.train(self.steps if steps is None else steps)
        built.build_seconds = round(time.perf_counter() - started, 2)
        return built


def _induction(seed: int, head_order: list[int] | None = None) -> Callable[[int], Built]:
    lr, batch_size = 3e-3, 32

    def train(steps: int) -> Built:
        with training.deterministic(seed) as generator:
            model = attn_only_transformer(induction.CONFIG, seed)
            loss = training.train_next_token(
                model, lambda g: training.induction_batch(g, batch_size), generator, steps, lr
            )
        if head_order is not None:
            permute_heads(model, head_order)
        probe = induction.repeated_random_tokens(torch.Generator().manual_seed(seed + 1))
        return Built(
            state=model.state_dict(), config=induction.CONFIG, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.training.induction_batch", "optimiser": "AdamW", "lr": lr,
                    "weight_decay": 0.01, "batch_size": batch_size, "threads": 1,
                    "head_order_after_training": head_order},
            metrics={"final_train_loss": round(loss, 4), **measurements.induction_behaviour(model, probe)},
            answer_key=measurements.induction_answer_key(model, probe),
        )

    return train


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


def _sentiment(seed: int) -> Callable[[int], Built]:
    # Label smoothing keeps the sentiment direction from swamping the residual stream's variance; without it
    # sentiment was 85% of the variance at the probe's hook and probes fit on shuffled labels landed on it.
    lr, batch_size, label_smoothing = 3e-3, 64, 0.1

    def train(steps: int) -> Built:
        with training.deterministic(seed) as generator:
            model = attn_only_transformer(sentiment.CONFIG, seed)
            loss = training.train_next_token(
                model, lambda g: training.sentiment_batch(g, batch_size), generator, steps, lr,
                label_smoothing=label_smoothing,
            )
        return Built(
            state=model.state_dict(), config=sentiment.CONFIG, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.training.sentiment_batch", "optimiser": "AdamW", "lr": lr,
                    "weight_decay": 0.01, "batch_size": batch_size, "label_smoothing": label_smoothing, "threads": 1},
            metrics={"final_train_loss": round(loss, 4), **measurements.sentiment_behaviour(model)},
        )

    return train


def _superposition(n_features: int, d_hidden: int, sparsity: float, seed: int) -> Callable[[int], Built]:
    config = {"n_features": n_features, "d_hidden": d_hidden, "sparsity": sparsity}

    def train(steps: int) -> Built:
        with training.deterministic(seed) as generator:
            model = ToyModel(**config)
            loss = training.train_toy(model, generator, steps)
        return Built(
            state=model.state_dict(), config=config, seed=seed, steps=steps,
            recipe={"data": "workers.reference_models.training.sparse_features", "optimiser": "Adam",
                    "lr": 1e-3, "batch_size": 1024, "importance": "0.9 ** i", "threads": 1},
            metrics={"final_train_loss": round(loss, 5), **measurements.toy_geometry(model)},
        )

    return train


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in [
        Recipe("induction-2l", steps=2000, train=_induction(seed=1)),
        Recipe("induction-2l-alt", steps=2000, train=_induction(seed=2, head_order=[2, 3, 0, 1])),
        Recipe("sentiment-2l", steps=800, train=_sentiment(seed=11)),
        *[Recipe(f"toy-superposition-{n}x{d}-s{s}", steps=5000, train=_superposition(n, d, s, seed=0))
          for n, d in [(5, 2), (20, 5)] for s in (0.7, 0.9, 0.99)],
    ]
}


def recipe(name: str) -> Recipe:
    catalogue.get(name)  # the same LookupError for an unknown name
    return RECIPES[name]
