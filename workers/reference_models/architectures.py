"""The reference models' architectures, untrained: what stored weights are loaded into.

Nothing here trains or knows how a model was trained (that is ``recipes`` and ``training``): the sandbox
zygote imports this module, through ``checkpoints``, to assemble the models it preloads, and learner code
in a child must find nothing there that rebuilds a trained model's weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge


def attn_only_transformer(config: dict[str, Any], seed: int = 0) -> TransformerBridge:
    """A TransformerLens model from plain config values (as stored in the metadata), initialised from ``seed``."""
    return TransformerBridge.boot_native(TransformerBridgeConfig(**config, seed=seed))


class ToyModel(nn.Module):
    """Elhage et al.'s toy model of superposition, ``x ↦ ReLU(x W Wᵀ + b)``: ``W`` is ``[n, d]``, one row per feature.

    ``importance`` (0.9^i) is a buffer because the stored checkpoints carry it.
    """

    def __init__(self, n_features: int, d_hidden: int, sparsity: float) -> None:
        super().__init__()
        self.n_features, self.d_hidden, self.sparsity = n_features, d_hidden, sparsity
        self.W = nn.Parameter(torch.empty(n_features, d_hidden))
        nn.init.xavier_normal_(self.W)
        self.b = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("importance", 0.9 ** torch.arange(n_features, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W @ self.W.T + self.b)
