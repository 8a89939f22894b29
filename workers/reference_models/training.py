"""The shared pieces of every recipe: one-thread determinism and a plain Adam loop."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[torch.Generator]:
    """One CPU thread and a seeded generator: the same recipe gives bit-identical weights on this machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield torch.Generator().manual_seed(seed)
    finally:
        torch.set_num_threads(threads)


def attn_only_transformer(config: dict, seed: int) -> TransformerBridge:
    """A fresh, seeded TransformerLens model from plain config values (as stored in the metadata)."""
    return TransformerBridge.boot_native(TransformerBridgeConfig(**config, seed=seed))


def train_next_token(
    model: TransformerBridge,
    batch: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    generator: torch.Generator,
    steps: int,
    lr: float,
    weight_decay: float = 0.01,
    label_smoothing: float = 0.0,
) -> float:
    """Adam on cross-entropy at the positions ``batch`` marks; returns the last step's loss.

    ``batch(generator)`` returns ``(tokens [B, T], mask [B, T-1])``; the mask selects which next-token
    predictions are trained (all of them for language modelling, only the answer for classification).
    Label smoothing caps how far the loss pushes the logits, so no single feature grows without bound.
    """
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        tokens, mask = batch(generator)
        logits = model(tokens)[:, :-1]
        losses = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), tokens[:, 1:], reduction="none", label_smoothing=label_smoothing
        )
        loss = (losses * mask).sum() / mask.sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return float(loss.detach())
