"""Checkpoints on disk: weights (safetensors), metadata (JSON) and, for some models, an answer key.

For a model NAME, ``fixtures/reference_models/`` holds

* ``NAME.safetensors``: the weights; its sha256 is the model's identity;
* ``NAME.json``: config, recipe, seed, steps, final metrics, sha256, size, build time and versions;
* ``NAME.answer_key.json`` (induction models): measured facts about the circuit. Only trusted grading
  code reads it (``answer_key``); nothing hands it to a sandbox, and ``load`` never opens it.

``load`` refuses a weights file whose sha256 differs from the metadata's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from workers.reference_models import catalogue

# No Django here: the sandbox zygote loads models through this module before any settings exist.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reference_models"


class ChecksumMismatch(Exception):
    """A weights file is not the one its metadata describes; grading against it would be meaningless."""


@dataclass
class Built:
    """What a recipe produces: the weights plus everything the metadata records about them."""

    state: dict[str, torch.Tensor]
    config: dict[str, Any]
    recipe: dict[str, Any]
    seed: int
    steps: int
    metrics: dict[str, Any]
    answer_key: dict[str, Any] | None = None
    build_seconds: float = 0.0

    def weights(self) -> bytes:
        return weights_bytes(self.state)


def weights_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """The safetensors serialisation; byte-identical for identical tensors, so its hash identifies a model."""
    return safetensors.torch.save({name: tensor.detach().cpu().contiguous() for name, tensor in state.items()})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paths(name: str, directory: Path = FIXTURES) -> tuple[Path, Path, Path]:
    """``(weights, metadata, answer key)`` paths of ``name``."""
    return directory / f"{name}.safetensors", directory / f"{name}.json", directory / f"{name}.answer_key.json"


def write(name: str, built: Built, metadata: dict[str, Any], directory: Path = FIXTURES) -> None:
    weights_path, metadata_path, key_path = paths(name, directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path.write_bytes(built.weights())
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    if built.answer_key is not None:
        key_path.write_text(json.dumps(built.answer_key, indent=2) + "\n")


def read_metadata(name: str, directory: Path = FIXTURES) -> dict[str, Any]:
    _, metadata_path, _ = paths(name, directory)
    if not metadata_path.exists():
        raise FileNotFoundError(
            f"reference model {name!r} has no metadata at {metadata_path}; "
            f"build it with `manage.py build_reference_models {name}`"
        )
    return json.loads(metadata_path.read_text())


def read_verified_state(name: str, directory: Path = FIXTURES) -> dict[str, torch.Tensor]:
    """The weights of ``name``, after checking their sha256 against the metadata."""
    weights_path, metadata_path, _ = paths(name, directory)
    expected = read_metadata(name, directory)["sha256"]
    data = weights_path.read_bytes()
    actual = sha256(data)
    if actual != expected:
        raise ChecksumMismatch(
            f"reference model {name!r}: {weights_path} has sha256 {actual}, but {metadata_path} records "
            f"{expected}. The file was changed or is corrupt; restore it from git or rebuild it with "
            f"`manage.py build_reference_models {name}`."
        )
    return safetensors.torch.load(data)


def read_answer_key(name: str, directory: Path = FIXTURES) -> dict[str, Any]:
    """Trusted grading code only: the measured circuit of ``name``. Never pass this to a sandbox."""
    _, _, key_path = paths(name, directory)
    return json.loads(key_path.read_text())


def device_of(model: nn.Module) -> torch.device:
    """Where a model's weights are (the sandbox may have moved a preloaded model to the GPU)."""
    return next(model.parameters()).device


def default_device() -> str:
    """The worker's device: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def assemble(name: str, config: dict[str, Any], state: dict[str, torch.Tensor], device: str) -> nn.Module:
    """The model ``name`` from its stored config and weights, on ``device``, in eval mode."""
    model = catalogue.get(name).empty(config)
    model.load_state_dict(state)
    return model.to(device).eval()


@cache
def _cached(name: str, device: str, directory: Path) -> nn.Module:
    return assemble(name, read_metadata(name, directory)["config"], read_verified_state(name, directory), device)


def portable(name: str, directory: Path = FIXTURES) -> dict[str, Any]:
    """The verified model ``name`` as plain data (config, NumPy weights) that the sandbox wire carries.

    For hidden models: they are never preloaded into the sandbox, so a kind's ``child_inputs`` hands
    one to the single child that grades a submission, and ``from_portable`` rebuilds it there.
    """
    state = read_verified_state(name, directory)
    return {"name": name, "config": read_metadata(name, directory)["config"],
            "state": {key: tensor.numpy() for key, tensor in state.items()}}


def from_portable(data: dict[str, Any], device: str) -> nn.Module:
    """In the sandbox child: the model ``portable`` described."""
    state = {key: torch.from_numpy(array) for key, array in data["state"].items()}
    return assemble(data["name"], data["config"], state, device)


def load(name: str, device: str | None = None, directory: Path = FIXTURES) -> nn.Module:
    """The verified reference model ``name`` on ``device`` (default: the worker's), in eval mode.

    Loaded once per process and device; callers must not modify it (hooks go in ``run_with_hooks``
    or ``hooks()`` contexts, which remove themselves).
    """
    return _cached(name, device or default_device(), Path(directory))
