"""What a recipe measures on the model it built: the metrics in the metadata and the induction answer key.

Build-time only (``recipes`` imports it): ``induction_answer_key`` run on any induction model names its
circuit, which is what the induction exercises ask a learner to find, so the sandbox zygote must not be
able to import it.
"""

from __future__ import annotations

from typing import Any

import torch

from workers.reference_models import induction, sentiment
from workers.reference_models.architectures import ToyModel
from workers.reference_models.checkpoints import device_of


@torch.no_grad()
def head_scores(model, tokens: torch.Tensor) -> dict[str, list[list[float]]]:
    """Per head, the mean attention to the token after the previous occurrence (induction) and to the previous token."""
    length = (tokens.shape[1] - 1) // 2
    _, cache = model.run_with_cache(tokens.to(device_of(model)), names_filter=lambda n: n.endswith("hook_pattern"))
    induction_scores, previous = [], []
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"].cpu()  # [batch, head, query, key]
        queries = torch.arange(length + 1, 2 * length + 1)
        induction_scores.append(pattern[:, :, queries, queries - length + 1].mean(dim=(0, 2)).tolist())
        rows = torch.arange(1, 2 * length + 1)
        previous.append(pattern[:, :, rows, rows - 1].mean(dim=(0, 2)).tolist())
    return {"induction": induction_scores, "previous_token": previous}


@torch.no_grad()
def induction_behaviour(model, probe: torch.Tensor) -> dict[str, float | str]:
    """Loss on the repeated half of ``probe`` and the model's answers to the lesson's two examples."""
    length = (probe.shape[1] - 1) // 2
    logits = model(probe.to(device_of(model))).cpu()
    log_probs = logits[:, length:-1].log_softmax(-1)
    repeated_loss = -log_probs.gather(-1, probe[:, length + 1:, None]).mean()
    results: dict[str, float | str] = {"repeated_tokens_loss": round(float(repeated_loss), 4)}
    for answer, text in induction.LESSON_EXAMPLES.items():
        probs = model(induction.VOCAB.encode(text)[None].to(device_of(model)))[0, -1].softmax(-1).cpu()
        results[f"p({answer} | {text})"] = round(float(probs[induction.VOCAB[answer]]), 4)
        results[f"top({text})"] = induction.VOCAB.words[int(probs.argmax())]
    return results


def induction_answer_key(model, probe: torch.Tensor, threshold: float = 0.3) -> dict[str, Any]:
    """Which heads are induction and previous-token heads, with every head's scores, measured on ``probe``."""
    scores = head_scores(model, probe)

    def heads_above(kind: str) -> list[list[int]]:
        ranked = sorted(
            ((score, layer, head) for layer, row in enumerate(scores[kind]) for head, score in enumerate(row)),
            reverse=True,
        )
        return [[layer, head] for score, layer, head in ranked if score >= threshold]

    return {
        "probe": "repeated_random_tokens: <bos> + 10 random words + the same 10 words, 64 sequences",
        "threshold": threshold,
        "induction_heads": heads_above("induction"),
        "previous_token_heads": heads_above("previous_token"),
        "scores": {kind: [[round(s, 4) for s in row] for row in rows] for kind, rows in scores.items()},
    }


@torch.no_grad()
def sentiment_behaviour(model) -> dict[str, float]:
    """Answer accuracy, sentiment accuracy and mean |logit difference| over all 960 reviews."""
    tokens, answers, positive = sentiment.encode(torch.arange(len(sentiment.SENTENCES)))
    logits = model(tokens.to(device_of(model))).cpu()
    difference = sentiment.logit_difference(logits)
    return {
        "answer_accuracy": round(float((logits[:, -1].argmax(-1) == answers).float().mean()), 4),
        "sentiment_accuracy": round(float(((difference > 0) == positive).float().mean()), 4),
        "mean_abs_logit_difference": round(float(difference.abs().mean()), 3),
    }


@torch.no_grad()
def toy_geometry(model: ToyModel, represented_norm: float = 0.5) -> dict[str, float | int | list[float]]:
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
