"""Measuring the induction models in trusted code: losses where induction applies, with heads patched or ablated.

Shared by ``scrub-induction``, ``induction-circuit`` and the lesson's Example 3. Heads are addressed by
their output ``blocks.L.attn.hook_z`` (``[batch, position, head, d_head]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from workers.reference_models import induction

Head = tuple[int, int]
Hook = tuple[str, Callable[[torch.Tensor, object], torch.Tensor]]

REPEAT_LENGTH = 10  # the probe: <bos> + 10 random words + the same 10 words


def head_output(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_z"


def repeated_tokens(seed: int, batch: int = 64) -> torch.Tensor:
    """The induction probe, ``[batch, 2 * REPEAT_LENGTH + 1]``, from a seed the child never learns."""
    return induction.repeated_random_tokens(torch.Generator().manual_seed(seed), batch, REPEAT_LENGTH)


def induction_positions(length: int = REPEAT_LENGTH) -> list[int]:
    """Positions whose next token only induction predicts: inside the repeat, after its first word."""
    return list(range(length + 1, 2 * length))


@torch.no_grad()
def loss_at(model, tokens: torch.Tensor, positions: list[int], hooks: Iterable[Hook] = ()) -> float:
    """Mean next-token cross-entropy at ``positions`` (predicting position + 1), with ``hooks`` applied."""
    device = model.cfg.device
    logits = model.run_with_hooks(tokens.to(device), fwd_hooks=list(hooks)).cpu()
    where = torch.tensor(positions)
    log_probs = logits[:, where].log_softmax(-1)
    return float(-log_probs.gather(-1, tokens[:, where + 1, None]).mean())


@torch.no_grad()
def head_outputs(model, tokens: torch.Tensor, layers: Iterable[int]) -> dict[int, torch.Tensor]:
    """Every head's output per layer: ``{layer: [batch, position, head, d_head]}`` (on the model's device)."""
    names = {head_output(layer): layer for layer in layers}
    _, cache = model.run_with_cache(tokens.to(model.cfg.device), names_filter=lambda name: name in names)
    return {layer: cache[name] for name, layer in names.items()}


def head_means(model, tokens: torch.Tensor) -> dict[int, torch.Tensor]:
    """Every head's output averaged over the batch, per position: ``{layer: [1, position, head, d_head]}``."""
    outputs = head_outputs(model, tokens, range(model.cfg.n_layers))
    return {layer: z.mean(dim=0, keepdim=True) for layer, z in outputs.items()}


def mean_ablation(means: dict[int, torch.Tensor], heads: Iterable[Head]) -> list[Hook]:
    """Hooks that replace each head's output by its mean (``head_means``)."""
    by_layer: dict[int, list[int]] = {}
    for layer, head in sorted(set(heads)):
        by_layer.setdefault(layer, []).append(head)

    def replace(layer: int, chosen: list[int]) -> Callable[[torch.Tensor, object], torch.Tensor]:
        def hook(z: torch.Tensor, hook: object) -> torch.Tensor:
            z = z.clone()
            z[:, :, chosen] = means[layer][:, : z.shape[1], chosen].expand(z.shape[0], -1, -1, -1)
            return z

        return hook

    return [(head_output(layer), replace(layer, chosen)) for layer, chosen in by_layer.items()]


def all_heads(model) -> list[Head]:
    return [(layer, head) for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)]
