"""Reparameterised reference models compute the same function in other weights, at other head indices, in another
residual basis; the trusted mappings say where everything went; and copies from one variant do not fit another."""

import copy

import numpy as np
import pytest
import torch

from workers import reference_models
from workers.reference_models import Reparameterisation, induction, measurements, sentiment

TRANSFORMERS = ["induction-2l", "induction-2l-alt", "sentiment-2l"]
SEEDS = [0, 1, 2**40 + 3]


def real_inputs(name: str) -> torch.Tensor:
    if name.startswith("induction"):
        probe = induction.repeated_random_tokens(torch.Generator().manual_seed(99), batch_size=32)
        lesson = induction.VOCAB.encode(induction.LESSON_EXAMPLES["sat"])[None]  # padded with a probe row's tail
        return torch.cat([probe, torch.cat([lesson, probe[:1, lesson.shape[1]:]], dim=1)])
    tokens, _, _ = sentiment.encode(torch.arange(len(sentiment.SENTENCES)))
    return tokens


def original(name: str):
    return reference_models.load(name, "cpu")


def cached(model, tokens: torch.Tensor, hook: str) -> torch.Tensor:
    _, cache = model.run_with_cache(tokens, names_filter=hook)
    return cache[hook]


@torch.no_grad()
def mean_ablated_loss(model, tokens: torch.Tensor, heads: list[tuple[int, int]]) -> float:
    """Next-token loss with each listed head's ``hook_z`` output replaced by its mean over the batch."""
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)

    def ablate(z, hook):
        chosen = by_layer[int(hook.name.split(".")[1])]
        z[:, :, chosen] = z[:, :, chosen].mean(dim=0, keepdim=True)
        return z

    hooks = [(f"blocks.{layer}.attn.hook_z", ablate) for layer in by_layer]
    logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
    return float(torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten()))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", TRANSFORMERS)
def test_a_variant_computes_the_same_logits_as_the_original(name, seed):
    tokens = real_inputs(name)
    with torch.no_grad():
        expected, actual = original(name)(tokens), reference_models.variant(name, seed, "cpu")(tokens)
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", TRANSFORMERS)
def test_each_head_attends_as_before_at_its_new_index(name, seed):
    tokens, mapping = real_inputs(name), reference_models.reparameterisation(name, seed)
    model = original(name)
    for layer in range(model.cfg.n_layers):
        hook = f"blocks.{layer}.attn.hook_pattern"
        before = cached(model, tokens, hook)
        after = cached(reference_models.variant(name, seed, "cpu"), tokens, hook)
        for head in range(model.cfg.n_heads):
            torch.testing.assert_close(after[:, mapping.head_position(layer, head)], before[:, head], atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", TRANSFORMERS)
def test_mean_ablating_the_mapped_heads_costs_what_ablating_the_originals_costs(name, seed):
    tokens, mapping = real_inputs(name), reference_models.reparameterisation(name, seed)
    heads = [(0, 1), (1, 0), (1, 2)]
    mapped = [(layer, mapping.head_position(layer, head)) for layer, head in heads]
    expected = mean_ablated_loss(original(name), tokens, heads)
    variant = reference_models.variant(name, seed, "cpu")
    assert mean_ablated_loss(variant, tokens, mapped) == pytest.approx(expected, abs=1e-4)
    assert abs(expected - mean_ablated_loss(original(name), tokens, [])) > 0.01  # the ablation does matter


@pytest.mark.parametrize("seed", SEEDS)
def test_the_sentiment_direction_maps_into_the_variants_residual_basis(seed):
    tokens, _, positive = sentiment.encode(torch.arange(len(sentiment.SENTENCES)))
    before = cached(original("sentiment-2l"), tokens, sentiment.READ_HOOK)[:, -1]
    after = cached(reference_models.variant("sentiment-2l", seed, "cpu"), tokens, sentiment.READ_HOOK)[:, -1]
    direction = before[positive].mean(0) - before[~positive].mean(0)
    mapped = torch.from_numpy(reference_models.reparameterisation("sentiment-2l", seed).residual(direction.numpy()))
    assert mapped.dtype == torch.float32
    torch.testing.assert_close(after @ mapped, before @ direction, atol=1e-4, rtol=1e-5)
    assert float(torch.cosine_similarity(after @ direction, before @ direction, dim=0)) < 0.9  # unmapped: lost


def test_the_mapped_answer_key_names_the_heads_the_variant_measures():
    probe = induction.repeated_random_tokens(torch.Generator().manual_seed(2))  # the recipe's probe for seed 1
    stored = reference_models.answer_key("induction-2l")
    for seed in SEEDS:
        key = reference_models.reparameterisation("induction-2l", seed).answer_key(stored)
        measured = measurements.head_scores(reference_models.variant("induction-2l", seed, "cpu"), probe)
        for kind in ("induction", "previous_token"):
            np.testing.assert_allclose(measured[kind], key["scores"][kind], atol=1e-4)
        assert key["induction_heads"] == measurements.induction_answer_key(
            reference_models.variant("induction-2l", seed, "cpu"), probe)["induction_heads"]
        assert key["threshold"] == stored["threshold"] and key["probe"] == stored["probe"]


def test_an_answer_key_field_with_no_mapping_rule_is_refused():
    mapping = reference_models.reparameterisation("induction-2l", 1)
    with pytest.raises(ValueError, match="'name_mover_heads'"):
        mapping.answer_key({"name_mover_heads": [[1, 0]]})


def test_different_seeds_put_heads_weights_and_directions_elsewhere():
    first, second = (reference_models.reparameterisation("induction-2l", seed) for seed in (1, 2))
    assert first.order.tolist() != second.order.tolist()
    weights = [reference_models.variant("induction-2l", seed, "cpu").state_dict() for seed in (1, 2)]
    for key, tensor in weights[0].items():
        if key != "unembed.bias":  # the logits' bias is the one thing no symmetry moves
            assert float((tensor - weights[1][key]).norm()) > 0.5 * float(tensor.norm()), key
    direction = np.random.default_rng(0).standard_normal(64)
    cosine = first.residual(direction) @ second.residual(direction) / np.linalg.norm(direction) ** 2
    assert abs(cosine) < 0.5


def test_a_copied_head_list_usually_misses_in_another_variant():
    """With 4 heads a layer a copied list can still land right by chance; it must not land right most of the time."""
    stored = reference_models.answer_key("induction-2l")
    keys = [reference_models.reparameterisation("induction-2l", seed).answer_key(stored) for seed in range(40)]
    copied = sorted(keys[0]["induction_heads"])
    hits = sum(sorted(key["induction_heads"]) == copied for key in keys[1:])
    assert hits < 0.4 * len(keys[1:])  # three of four heads: 1/4 by chance


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_seed_none_is_the_identity(name):
    mapping = reference_models.reparameterisation(name, None)
    assert all(mapping.head_position(layer, head) == head for layer in range(2) for head in range(4))
    stored = original(name).state_dict()
    identity = reference_models.variant(name, None, "cpu").state_dict()
    assert all(torch.equal(identity[key], tensor) for key, tensor in stored.items())


def test_head_position_and_original_head_are_inverse():
    mapping = reference_models.reparameterisation("induction-2l", 2**40 + 3)
    for layer in range(2):
        assert sorted(mapping.head_position(layer, head) for head in range(4)) == [0, 1, 2, 3]
        assert all(mapping.original_head(layer, mapping.head_position(layer, head)) == head for head in range(4))


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_the_numpy_path_and_the_torch_path_give_the_same_weights(name):
    data = reference_models.portable(name)
    numpy_state = reference_models.apply_to_state(data["state"], data["config"], 5)
    torch_state = reference_models.reparameterised(original(name), 5).state_dict()
    assert numpy_state.keys() == torch_state.keys()
    assert all(np.array_equal(numpy_state[key], torch_state[key].numpy()) for key in numpy_state)
    assert all(array.dtype == np.float32 for array in numpy_state.values())
    from_model = reference_models.variant_state(original(name), 5)
    assert all(np.array_equal(from_model[key], array) for key, array in numpy_state.items())
    rebuilt = reference_models.from_portable(reference_models.portable_variant(name, 5), "cpu").state_dict()
    assert all(torch.equal(rebuilt[key], tensor) for key, tensor in torch_state.items())


def test_reparameterising_leaves_the_loaded_model_and_its_input_state_unchanged():
    model = original("induction-2l")
    before = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    reference_models.reparameterised(model, 3)
    data = reference_models.portable("induction-2l")
    arrays = {key: array.copy() for key, array in data["state"].items()}
    reference_models.apply_to_state(data["state"], data["config"], 3)
    assert all(torch.equal(model.state_dict()[key], tensor) for key, tensor in before.items())
    assert all(np.array_equal(data["state"][key], array) for key, array in arrays.items())


def test_a_variant_shares_no_state_with_the_model_it_came_from():
    """A TransformerBridge that has run holds hooks pointing at its own modules; a copy must not inherit them."""
    model, tokens = original("sentiment-2l"), real_inputs("sentiment-2l")
    model(tokens)
    reference_models.reparameterised(model, 1)(tokens)
    written = [name for name, module in model.named_modules()
               if getattr(module, "_captured_pre_ln_residual", None) is not None]
    assert not written, f"running the variant wrote into the original's {written}"


def test_variants_are_cached_per_name_seed_and_device():
    assert reference_models.variant("induction-2l", 7, "cpu") is reference_models.variant("induction-2l", 7, "cpu")
    assert reference_models.variant("induction-2l", 7, "cpu") is not reference_models.variant("induction-2l", 8, "cpu")


def test_a_sandbox_childs_own_model_can_be_reparameterised_in_place():
    own = copy.deepcopy(original("sentiment-2l"))
    reference_models.reparameterise_in_place(own, 4)
    expected = reference_models.variant("sentiment-2l", 4, "cpu").state_dict()
    assert all(torch.equal(own.state_dict()[key], tensor) for key, tensor in expected.items())


def test_models_the_symmetries_do_not_hold_for_are_refused():
    with pytest.raises(ValueError, match="normalization_type"):
        Reparameterisation.draw({**induction.CONFIG, "normalization_type": "LN"}, 1)
    with pytest.raises(ValueError, match="attn_only"):
        reference_models.apply_to_state({}, reference_models.metadata("toy-superposition-5x2-s0.9")["config"], 1)
    state = reference_models.portable("induction-2l")["state"]
    with pytest.raises(ValueError, match="unexpected.*blocks.0.mlp.W_in"):
        reference_models.apply_to_state({**state, "blocks.0.mlp.W_in": state["embed.weight"]}, induction.CONFIG, 1)
