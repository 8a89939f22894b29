"""``toy-superposition-*``: Elhage et al.'s toy model of superposition, n sparse features in d < n dimensions.

The model is ``x ↦ ReLU(x W Wᵀ + b)`` with ``W`` the ``[n, d]`` matrix whose rows are the feature
directions. Data generator: each feature is 0 with probability ``sparsity`` and uniform on [0, 1]
otherwise; the loss is the importance-weighted squared error Σ_i I_i (x_i − x̂_i)², with importance
I_i = 0.9^i, so the first features matter most. Plain torch: no attention, no TransformerLens.
"""

from __future__ import annotations

import torch
from torch import nn


class ToyModel(nn.Module):
    def __init__(self, n_features: int, d_hidden: int, sparsity: float) -> None:
        super().__init__()
        self.n_features, self.d_hidden, self.sparsity = n_features, d_hidden, sparsity
        self.W = nn.Parameter(torch.empty(n_features, d_hidden))
        nn.init.xavier_normal_(self.W)
        self.b = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("importance", 0.9 ** torch.arange(n_features, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W @ self.W.T + self.b)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        return (self.importance * (x - self(x)) ** 2).sum(-1).mean()


def sparse_features(n_features: int, sparsity: float, size: int, generator: torch.Generator) -> torch.Tensor:
    """``[size, n]`` inputs: each feature is 0 with probability ``sparsity``, else uniform on [0, 1]."""
    values = torch.rand(size, n_features, generator=generator)
    present = torch.rand(size, n_features, generator=generator) >= sparsity
    return values * present


def train(model: ToyModel, generator: torch.Generator, steps: int, lr: float = 1e-3, batch: int = 1024) -> float:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        loss = model.loss(sparse_features(model.n_features, model.sparsity, batch, generator))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return float(loss.detach())


@torch.no_grad()
def geometry(model: ToyModel, represented_norm: float = 0.5) -> dict[str, float | int | list[float]]:
    """Which features got a direction (row norm ≥ 0.5) and how much they interfere (|w_i · w_j|)."""
    norms = model.W.norm(dim=1)
    kept = norms >= represented_norm
    gram = (model.W @ model.W.T)[kept][:, kept]
    off_diagonal = gram[~torch.eye(len(gram), dtype=torch.bool)].abs()
    return {
        "features_represented": int(kept.sum()),
        "norms": [round(float(n), 3) for n in norms],
        "bias": [round(float(b), 3) for b in model.b],
        "max_interference": round(float(off_diagonal.max()), 4) if len(off_diagonal) else 0.0,
        "mean_interference": round(float(off_diagonal.mean()), 4) if len(off_diagonal) else 0.0,
    }
