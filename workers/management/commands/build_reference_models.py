"""``manage.py build_reference_models [NAME ...]``: rebuild reference models and compare with the stored checksums."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import torch
from django.core.management.base import BaseCommand, CommandError

from workers.reference_models import MODELS, checkpoints
from workers.reference_models.recipes import Recipe, recipe


class Command(BaseCommand):
    help = (
        "Rebuilds reference models from their recipes (all of them without NAME), writes checkpoint, metadata "
        "and answer key to fixtures/reference_models/, and reports whether each sha256 matches the stored one."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of: {', '.join(MODELS)}")
        parser.add_argument("--check", action="store_true", help="only compare; write nothing")
        parser.add_argument("--directory", type=Path, default=checkpoints.FIXTURES)

    def handle(self, *args, names, check, directory, **options):
        try:
            recipes = [recipe(name) for name in names or MODELS]
        except LookupError as error:
            raise CommandError(str(error)) from None
        mismatches = 0
        for model in recipes:
            self.stdout.write(f"{model.name}: building ({model.steps} steps) ...")
            built = model.build()
            weights = built.weights()
            digest = checkpoints.sha256(weights)
            try:
                stored = checkpoints.read_metadata(model.name, directory)["sha256"]
            except FileNotFoundError:
                stored = None
            if stored is None:
                verdict = "new (nothing stored before)"
            elif stored == digest:
                verdict = "checksum MATCHES the stored one"
            else:
                verdict = f"checksum DIFFERS from the stored one ({stored[:12]}…)"
                mismatches += 1
            self.stdout.write(
                f"  {built.build_seconds:.1f} s, {len(weights) / 1024:.1f} KiB, sha256 {digest[:12]}…: {verdict}"
            )
            for metric, value in built.metrics.items():
                if not isinstance(value, list):
                    self.stdout.write(f"    {metric}: {value}")
            if not check:
                checkpoints.write(model.name, built, _metadata(model, built, digest, len(weights)), directory)
        if check and mismatches:
            raise CommandError(f"{mismatches} model(s) differ from their stored checksums")


def _metadata(model: Recipe, built: checkpoints.Built, digest: str, size: int) -> dict:
    return {
        "name": model.name,
        "shows": MODELS[model.name].shows,
        "hidden": MODELS[model.name].hidden,
        "config": built.config,
        "recipe": built.recipe,
        "seed": built.seed,
        "steps": built.steps,
        "metrics": built.metrics,
        "sha256": digest,
        "size_bytes": size,
        "build_seconds": built.build_seconds,
        "versions": {
            "torch": torch.__version__,
            "transformer_lens": importlib.metadata.version("transformer-lens"),
            "safetensors": importlib.metadata.version("safetensors"),
        },
    }
