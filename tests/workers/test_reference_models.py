"""Reference models: recipes are deterministic, stored checkpoints verify and load, each shows its property, and
what the sandbox imports holds no recipe."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from django.core.management import call_command

from workers import reference_models
from workers.reference_models import ChecksumMismatch, MODELS, checkpoints, induction, measurements, recipes, sentiment

# What importing the package, preloading and loading the exercise kinds may bring in: none of these can
# rebuild a trained model. A new module joins this list only if that stays true.
SANDBOX_SAFE = {"workers.reference_models", *(f"workers.reference_models.{module}" for module in (
    "architectures", "catalogue", "checkpoints", "induction", "reparameterise", "sentiment", "vocabulary"))}


@pytest.mark.parametrize("name", ["induction-2l", "sentiment-2l", "toy-superposition-5x2-s0.9"])
def test_a_recipe_gives_the_same_checksum_twice(name):
    recipe = recipes.recipe(name)
    first, second = recipe.build(steps=3), recipe.build(steps=3)
    assert checkpoints.sha256(first.weights()) == checkpoints.sha256(second.weights())


def test_different_seeds_give_different_weights():
    main, alt = recipes.recipe("induction-2l").build(steps=3), recipes.recipe("induction-2l-alt").build(steps=3)
    assert checkpoints.sha256(main.weights()) != checkpoints.sha256(alt.weights())


def test_every_catalogued_model_has_one_recipe():
    assert recipes.RECIPES.keys() == MODELS.keys()
    with pytest.raises(LookupError, match="no reference model 'gpt-5'"):
        recipes.recipe("gpt-5")


@pytest.mark.parametrize("name", list(MODELS))
def test_every_stored_checkpoint_matches_its_metadata_and_loads(name):
    metadata = reference_models.metadata(name)
    weights, _, _ = checkpoints.paths(name)
    assert checkpoints.sha256(weights.read_bytes()) == metadata["sha256"]
    assert metadata["size_bytes"] == weights.stat().st_size
    assert {"torch", "transformer_lens"} <= set(metadata["versions"])
    assert metadata["steps"] == recipes.RECIPES[name].steps
    model = reference_models.load(name, "cpu")
    assert not model.training


def test_a_tampered_checkpoint_is_refused_with_a_clear_error(tmp_path):
    for path in checkpoints.paths("sentiment-2l")[:2]:
        shutil.copy(path, tmp_path / path.name)
    weights = tmp_path / "sentiment-2l.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match=r"sentiment-2l.*has sha256 .* but .* records .*build_reference_models sentiment-2l"):
        reference_models.load("sentiment-2l", "cpu", directory=tmp_path)


def test_the_recorded_induction_heads_attend_inductively_on_fresh_data():
    fresh = induction.repeated_random_tokens(torch.Generator().manual_seed(1234))
    for name in ["induction-2l", "induction-2l-alt"]:
        key = reference_models.answer_key(name)
        scores = measurements.head_scores(reference_models.load(name, "cpu"), fresh)
        layer, head = key["induction_heads"][0]
        assert layer == 1 and scores["induction"][layer][head] > 0.4
        layer, head = key["previous_token_heads"][0]
        assert layer == 0 and scores["previous_token"][layer][head] > 0.4


def test_the_hidden_model_has_its_circuit_at_other_heads():
    main, alt = reference_models.answer_key("induction-2l"), reference_models.answer_key("induction-2l-alt")
    assert sorted(main["induction_heads"]) != sorted(alt["induction_heads"])
    assert main["previous_token_heads"][0] != alt["previous_token_heads"][0]
    assert MODELS["induction-2l-alt"].hidden and not MODELS["induction-2l"].hidden


def test_the_induction_model_completes_the_lessons_example():
    model = reference_models.load("induction-2l", "cpu")
    logits = model(induction.VOCAB.encode("The cat sat on the mat. The cat")[None])
    assert induction.VOCAB.words[int(logits[0, -1].argmax())] == "sat"


def test_projecting_out_the_sentiment_direction_changes_the_output_and_a_random_one_does_not():
    model = reference_models.load("sentiment-2l", "cpu")
    tokens, _, positive = sentiment.encode(torch.arange(len(sentiment.SENTENCES)))
    _, cache = model.run_with_cache(tokens, names_filter=sentiment.READ_HOOK)
    acts = cache[sentiment.READ_HOOK][:, -1]
    sentiment_direction = acts[positive].mean(0) - acts[~positive].mean(0)
    random_direction = torch.randn(acts.shape[1], generator=torch.Generator().manual_seed(0))

    def signed_logit_difference(direction=None):
        def project_out(resid, hook):
            unit = direction / direction.norm()
            resid[:, -1] -= (resid[:, -1] @ unit)[:, None] * unit
            return resid

        hooks = [] if direction is None else [(sentiment.READ_HOOK, project_out)]
        with torch.no_grad():
            logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
        return float((sentiment.logit_difference(logits) * (positive.float() * 2 - 1)).mean())

    clean = signed_logit_difference()
    assert clean > 2
    assert signed_logit_difference(sentiment_direction) < 0.3 * clean
    assert signed_logit_difference(random_direction) > 0.9 * clean


@pytest.mark.parametrize("n, d", [(5, 2), (20, 5)])
def test_toy_models_pack_more_features_than_dimensions_when_sparse(n, d):
    dense = reference_models.metadata(f"toy-superposition-{n}x{d}-s0.7")["metrics"]
    sparse = reference_models.metadata(f"toy-superposition-{n}x{d}-s0.99")["metrics"]
    assert sparse["features_represented"] > d
    assert sparse["features_represented"] >= dense["features_represented"]


def test_the_sandbox_preload_holds_public_transformers_only_and_no_answer_key():
    preloaded = reference_models.preload()
    assert set(preloaded) == {"induction-2l", "sentiment-2l"}  # never the hidden induction-2l-alt
    assert all(hasattr(model, "run_with_hooks") for model in preloaded.values())


def test_the_sandbox_imports_no_recipe_training_or_answer_code():
    """The zygote imports the package, preloads, and imports every exercise kind: a child could call anything
    imported there, and a recipe (or the answer-key measurement) would rebuild a toy model's trained weights,
    the hidden model or the hidden circuit."""
    script = (
        "import sys, workers.reference_models as r; r.preload(); "
        "from workers.exercises.registry import all_kinds; all_kinds(); "
        "print('imported:', *sorted(m for m in sys.modules if m.startswith('workers.reference_models')))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], capture_output=True,
                          text=True, timeout=300, check=True)
    imported = set(done.stdout.rpartition("imported:")[2].split())
    assert imported, done.stderr
    assert imported <= SANDBOX_SAFE, f"the sandbox would import {sorted(imported - SANDBOX_SAFE)}"


def test_a_portable_model_rebuilds_to_the_same_weights():
    data = reference_models.portable("induction-2l-alt")
    rebuilt = reference_models.from_portable(data, "cpu")
    stored = reference_models.load("induction-2l-alt", "cpu").state_dict()
    assert rebuilt.state_dict().keys() == stored.keys()
    assert all(torch.equal(rebuilt.state_dict()[key], tensor) for key, tensor in stored.items())


def test_the_build_command_reports_whether_the_checksum_matches(capsys):
    call_command("build_reference_models", "toy-superposition-5x2-s0.7", "--check")
    out = capsys.readouterr().out
    assert "toy-superposition-5x2-s0.7" in out and "checksum MATCHES the stored one" in out
