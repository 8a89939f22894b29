"""Reference checkpoints for offline exploration: public ones only, and the page's snippet loads them."""

import pytest

from grader.playground.selectors import downloadable_checkpoints


def test_the_page_lists_public_models_with_a_snippet_and_hides_the_hidden_one(learner_client):
    html = learner_client.get("/grader/reference-models/").content.decode()
    assert "induction-2l.safetensors" in html and "TransformerBridge.boot_native" in html
    assert "induction-2l-alt" not in html
    assert "toy-superposition" not in html  # a trained toy model is the superposition exercise's answer


@pytest.mark.parametrize("name", ["induction-2l-alt", "toy-superposition-5x2-s0.9", "no-such-model"])
def test_hidden_answer_and_unknown_models_cannot_be_downloaded(learner_client, name):
    assert learner_client.get(f"/grader/reference-models/{name}.safetensors").status_code == 404


def test_downloads_need_an_account(client, db):
    assert client.get("/grader/reference-models/induction-2l.safetensors").status_code == 302


def test_the_snippet_loads_the_downloaded_checkpoint_with_transformer_lens(learner_client, tmp_path, monkeypatch):
    import torch

    from workers import reference_models

    for suffix in ("safetensors", "json"):
        response = learner_client.get(f"/grader/reference-models/induction-2l.{suffix}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        (tmp_path / f"induction-2l.{suffix}").write_bytes(body)
    snippet = next(c.snippet for c in downloadable_checkpoints() if c.name == "induction-2l")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(snippet, namespace)
    tokens = torch.tensor([[0, 5, 6, 7, 5]])
    assert torch.allclose(namespace["model"](tokens), reference_models.load("induction-2l", "cpu")(tokens), atol=1e-4)


def test_each_learner_downloads_the_copy_they_are_graded_on(learner, other_learner, client):
    """The same function, other weights: the learner's variant, as their submissions and runs see it."""
    import safetensors.numpy

    from grader.submissions.selectors import model_variant
    from workers.reference_models import reparameterise

    def downloaded(user) -> dict:
        client.force_login(user)
        response = client.get("/grader/reference-models/induction-2l.safetensors")
        return safetensors.numpy.load(response.content)

    mine, theirs = downloaded(learner), downloaded(other_learner)
    graded_on = reparameterise.variant("induction-2l", model_variant(learner.pk), "cpu").state_dict()
    for key, tensor in graded_on.items():
        assert abs(mine[key] - tensor.numpy()).max() < 1e-5, key
    assert abs(mine["blocks.0.attn.q.weight"] - theirs["blocks.0.attn.q.weight"]).max() > 0.1
