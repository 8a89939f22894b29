"""Function-preserving reparameterisations of the attention-only reference transformers.

A grade must not be earnable by copying. Every grading on a hidden model, and every learner's copy of a
public model, gets its own variant drawn from a seed: the same function (logits, attention patterns, what
ablating a head does) with other weights, the heads at other indices and the residual stream in another
basis. Weights, head indices or directions copied from another grading or another learner then point at
the wrong things, while code that measures behaviour finds the circuit wherever it sits.

The symmetries used hold because these models have no normalisation, no MLPs and learned absolute
positions (``Reparameterisation.draw`` refuses any other config):

* the heads of a layer are interchangeable: the variant's head ``j`` of layer ``l`` is the original's
  ``order[l, j]``;
* queries and keys enter a head only through q·kᵀ, so q ↦ q M, k ↦ k M⁻ᵀ keeps every attention score;
  values leave it only through z W_O, so v ↦ v N, W_O ↦ N⁻¹ W_O keeps every output (M and N: a random
  orthogonal matrix times a random positive diagonal, per head);
* the residual stream is only ever written to and read linearly, so x ↦ x R (R random orthogonal) is
  applied to every write (token and position embeddings, W_O and its bias) and undone, Rᵀ, in every read
  (the Q, K, V inputs and the unembedding).

Weights are in PyTorch's ``Linear`` layout (``W`` is ``[out, in]``, ``y = x Wᵀ + b``); heads are
consecutive blocks of ``d_head`` rows of ``q``, ``k``, ``v`` and columns of ``o``. The core works on a
state dict of NumPy arrays so that a learner's copy can be written for download without building a
model; ``reparameterised``, ``reparameterise_in_place`` and ``variant`` apply it to TransformerLens models.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from transformer_lens.model_bridge import TransformerBridge

from workers.reference_models.checkpoints import default_device, device_of, load, portable, read_metadata

# What the symmetries above need; any other architecture has no reparameterisation here.
REQUIRED_CONFIG = {"attn_only": True, "normalization_type": None, "positional_embedding_type": "standard"}
_SHAPE_KEYS = ("n_layers", "n_heads", "d_head", "d_model")
_SCALE_RANGE = 2.0  # each head's Q/K and V/O mixings scale their axes by factors in [1/2, 2]


@dataclass(frozen=True, eq=False)
class Reparameterisation:
    """One variant of an attention-only transformer, drawn from ``(config, seed)``; ``seed=None`` is the identity.

    All arrays are read-only float64 (orders: int); ``qk`` and ``vo`` are indexed by the *original* head.
    """

    seed: int | None
    order: np.ndarray  # [n_layers, n_heads]: the variant's head j of layer l is the original's order[l, j]
    qk: np.ndarray  # [n_layers, n_heads, d_head, d_head]: M, queries ↦ q M and keys ↦ k M⁻ᵀ
    vo: np.ndarray  # [n_layers, n_heads, d_head, d_head]: N, values ↦ v N and W_O ↦ N⁻¹ W_O
    rotation: np.ndarray  # [d_model, d_model]: R, residual vectors ↦ x R

    @classmethod
    def draw(cls, config: Mapping[str, Any], seed: int | None) -> Reparameterisation:
        """The variant of ``seed`` (a ``numpy.random.default_rng`` seed) for a model of ``config``."""
        unsupported = _unsupported(config)
        if unsupported:
            raise ValueError(f"no function-preserving reparameterisation for {unsupported}; it needs {REQUIRED_CONFIG}")
        n_layers, n_heads, d_head, d_model = (int(config[key]) for key in _SHAPE_KEYS)
        if seed is None:
            order = np.tile(np.arange(n_heads), (n_layers, 1))
            identity = np.broadcast_to(np.eye(d_head), (n_layers, n_heads, d_head, d_head))
            return cls(None, _frozen(order), _frozen(identity), _frozen(identity), _frozen(np.eye(d_model)))
        rng = np.random.default_rng(seed)
        order = np.stack([rng.permutation(n_heads) for _ in range(n_layers)])
        qk, vo = (_mixing(rng, (n_layers, n_heads), d_head) for _ in range(2))
        return cls(seed, _frozen(order), _frozen(qk), _frozen(vo), _frozen(_orthogonal(rng, (), d_model)))

    @cached_property
    def _position(self) -> np.ndarray:
        return np.argsort(self.order, axis=1)

    def head_position(self, layer: int, head: int) -> int:
        """Where the original model's ``head`` of ``layer`` sits in the variant."""
        return int(self._position[layer, head])

    def original_head(self, layer: int, head: int) -> int:
        """Which of the original model's heads the variant's ``head`` of ``layer`` is (``head_position``'s inverse)."""
        return int(self.order[layer, head])

    def residual(self, vector: Any) -> np.ndarray:
        """A residual-stream vector (or ``[..., d_model]`` batch) of the original in the variant's basis: ``v R``.

        Dot products are kept: projecting the variant's activations onto ``residual(d)`` gives what projecting
        the original's onto ``d`` gave. Returned in the input's float dtype (float64 for other inputs).
        """
        array = np.asarray(vector)
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
        return (array.astype(np.float64) @ self.rotation).astype(dtype)

    def answer_key(self, key: Mapping[str, Any]) -> dict[str, Any]:
        """A stored answer key (``fixtures/reference_models/*.answer_key.json``) for the variant.

        Head lists point at the heads' new indices and per-head score rows are reordered; fields that
        name no head pass unchanged. Any other field is refused rather than passed on with stale indices.
        """
        mapped: dict[str, Any] = {}
        for field, value in key.items():
            if field in _HEAD_LISTS:
                mapped[field] = [[layer, self.head_position(layer, head)] for layer, head in value]
            elif field in _PER_HEAD_SCORES:
                mapped[field] = {kind: [[row[self.original_head(layer, j)] for j in range(len(row))]
                                        for layer, row in enumerate(rows)] for kind, rows in value.items()}
            elif field in _HEADLESS:
                mapped[field] = value
            else:
                raise ValueError(f"answer key field {field!r}: no rule to map it to a variant's heads")
        return mapped

    def apply(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The variant's weights from the original's (NumPy arrays; each result keeps its input's dtype)."""
        n_layers, n_heads, d_head = self.qk.shape[:3]
        expected = _state_keys(n_layers)
        if set(state) != expected:
            raise ValueError(f"not an attention-only transformer's state: missing {sorted(expected - set(state))}, "
                             f"unexpected {sorted(set(state) - expected)}")
        rotation = self.rotation
        new = {
            "embed.weight": _f64(state["embed.weight"]) @ rotation,
            "pos_embed.weight": _f64(state["pos_embed.weight"]) @ rotation,
            "unembed.weight": _f64(state["unembed.weight"]) @ rotation,
            "unembed.bias": state["unembed.bias"],
        }
        for layer in range(n_layers):
            prefix, order = f"blocks.{layer}.attn", self.order[layer]
            m, n = self.qk[layer], self.vo[layer]
            # Per head, the matrix that multiplies the head's rows of q, k, v (Linear layout: W_h ↦ A W_h R).
            reads = {"q": m.swapaxes(-1, -2), "k": np.linalg.inv(m), "v": n.swapaxes(-1, -2)}
            for part, mixing in reads.items():
                weight = _f64(state[f"{prefix}.{part}.weight"]).reshape(n_heads, d_head, -1)
                bias = _f64(state[f"{prefix}.{part}.bias"]).reshape(n_heads, d_head, 1)
                new[f"{prefix}.{part}.weight"] = (mixing @ weight @ rotation)[order].reshape(n_heads * d_head, -1)
                new[f"{prefix}.{part}.bias"] = (mixing @ bias)[order].reshape(-1)
            # W_O's head columns: W_O,h ↦ Rᵀ W_O,h N⁻ᵀ, so z N W_O'ᵀ = z W_Oᵀ R.
            weight = _f64(state[f"{prefix}.o.weight"]).reshape(-1, n_heads, d_head).swapaxes(0, 1)
            weight = rotation.T @ weight @ np.linalg.inv(n).swapaxes(-1, -2)
            new[f"{prefix}.o.weight"] = weight[order].swapaxes(0, 1).reshape(-1, n_heads * d_head)
            new[f"{prefix}.o.bias"] = _f64(state[f"{prefix}.o.bias"]) @ rotation
        return {key: np.array(array, dtype=state[key].dtype, order="C") for key, array in new.items()}


_HEAD_LISTS = ("induction_heads", "previous_token_heads")  # [[layer, head], ...]
_PER_HEAD_SCORES = ("scores",)  # {kind: [[score of head 0, head 1, ...] per layer]}
_HEADLESS = ("probe", "threshold")


def _unsupported(config: Mapping[str, Any]) -> dict[str, Any]:
    return {key: config.get(key) for key, value in REQUIRED_CONFIG.items() if config.get(key) != value}


def _state_keys(n_layers: int) -> set[str]:
    blocks = {f"blocks.{layer}.attn.{part}.{kind}" for layer in range(n_layers) for part in "qkvo"
              for kind in ("weight", "bias")}
    return blocks | {"embed.weight", "pos_embed.weight", "unembed.weight", "unembed.bias"}


def _f64(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.flags.writeable = False
    return array


def _orthogonal(rng: np.random.Generator, batch: tuple[int, ...], size: int) -> np.ndarray:
    """Haar-random orthogonal matrices: QR of a Gaussian, with R's diagonal signs moved into Q."""
    q, r = np.linalg.qr(rng.standard_normal((*batch, size, size)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _mixing(rng: np.random.Generator, batch: tuple[int, ...], size: int) -> np.ndarray:
    """Random orthogonal matrices times random positive diagonals: invertible and well conditioned."""
    scales = np.exp(rng.uniform(-np.log(_SCALE_RANGE), np.log(_SCALE_RANGE), (*batch, size)))
    return _orthogonal(rng, batch, size) * scales[..., None, :]


def apply_to_state(
    state: Mapping[str, np.ndarray], config: Mapping[str, Any], seed: int | None
) -> dict[str, np.ndarray]:
    """The variant ``seed`` of a model's weights (NumPy; no model is built, so the web process can use it)."""
    return Reparameterisation.draw(config, seed).apply(state)


@lru_cache(maxsize=32)
def reparameterisation(name: str, seed: int | None) -> Reparameterisation:
    """What ``variant(name, seed)`` did: trusted code maps heads, directions and answer keys into it with this."""
    return Reparameterisation.draw(read_metadata(name)["config"], seed)


def _config_of(model: nn.Module) -> dict[str, Any]:
    return {key: getattr(model.cfg, key) for key in (*_SHAPE_KEYS, *REQUIRED_CONFIG)}


def applies_to(model: nn.Module) -> bool:
    """Whether ``model`` has these symmetries (the attention-only transformers; not the toy models)."""
    return hasattr(model, "cfg") and not _unsupported(_config_of(model))


def variant_state(model: nn.Module, seed: int | None) -> dict[str, np.ndarray]:
    """The variant ``seed`` of ``model``'s weights, as NumPy arrays; ``model`` is unchanged."""
    return _variant_state(model.state_dict(), model, seed)


def reparameterise_in_place(model: nn.Module, seed: int | None) -> None:
    """Overwrites ``model``'s weights with its variant ``seed``.

    For a model that is this process's own copy, as a sandbox child's preloaded model is after the fork:
    no copy is made, and the original weights are gone from the child. Never call it on a model from
    ``load``, which is shared within the process.
    """
    state = model.state_dict()
    _write(state, _variant_state(state, model, seed))


def reparameterised(model: nn.Module, seed: int | None) -> nn.Module:
    """A new model computing what ``model`` computes, in the variant ``seed`` of its weights; ``model`` is unchanged."""
    fresh = copy.deepcopy(_never_run(model))
    _write(fresh.state_dict(), variant_state(model, seed))
    return fresh


def _variant_state(state: Mapping[str, torch.Tensor], model: nn.Module, seed: int | None) -> dict[str, np.ndarray]:
    arrays = {key: tensor.detach().cpu().numpy() for key, tensor in state.items()}
    return apply_to_state(arrays, _config_of(model), seed)


@torch.no_grad()
def _write(state: Mapping[str, torch.Tensor], new: Mapping[str, np.ndarray]) -> None:
    """Copies ``new`` into a model's ``state_dict()``, whose tensors share storage with its parameters and buffers."""
    for key, tensor in state.items():
        tensor.copy_(torch.from_numpy(new[key]))


_NEVER_RUN: dict[tuple[str, str], nn.Module] = {}


def _never_run(model: nn.Module) -> nn.Module:
    """A model of ``model``'s architecture, on its device, that has never run: the one safe thing to deep-copy.

    On its first forward a TransformerBridge wires hooks holding weak proxies to its own modules; a deep copy of
    a model that has run keeps those proxies, so the copy would write its activations into the original's
    modules (and learner code holding the copy could reach the original through them). A copy of a model that
    never ran wires hooks of its own. Deep-copying one (about 8 ms) is cheaper than building one (about 20 ms).
    TransformerLens announces the move to the device on stdout, which in a sandbox child is the learner's output.
    """
    key = (repr(model.cfg), str(device_of(model)))
    if key not in _NEVER_RUN:
        with contextlib.redirect_stdout(io.StringIO()):
            _NEVER_RUN[key] = TransformerBridge.boot_native(copy.deepcopy(model.cfg)).to(key[1]).eval()
    return _NEVER_RUN[key]


@lru_cache(maxsize=32)
def _variant(name: str, seed: int | None, device: str) -> nn.Module:
    return reparameterised(load(name, device), seed)


def variant(name: str, seed: int | None, device: str | None = None) -> nn.Module:
    """The verified reference model ``name`` reparameterised by ``seed``, on ``device`` (default: the worker's).

    Cached (the 32 most recent), so like ``load``'s models it is shared: callers must not modify it.
    ``reparameterisation(name, seed)`` maps heads, directions and answer keys into it.
    """
    return _variant(name, seed, device or default_device())


def portable_variant(name: str, seed: int | None) -> dict[str, Any]:
    """``portable(name)`` with the variant ``seed`` of its weights: what a grading child gets of a hidden model.

    The child never learns the seed, so it cannot undo the variant; the parent maps the answer key instead.
    """
    data = portable(name)
    return data | {"state": apply_to_state(data["state"], data["config"], seed)}
