"""``induction-2l`` and ``induction-2l-alt``: two-layer attention-only models that form induction heads.

Data generator (one batch = three quarters repeated spans, one quarter stories, padded with random words
to length 44):

* repeated random spans: ``<bos>`` + a random prefix + a span of 4 to 20 random words + the same span again; only
  in-context copying predicts the repeat, and varying lengths and offsets rule out a positional shortcut;
* sentence stories: ``<bos>`` + three sentences "The|A NOUN VERB PREP the PLACE ." with three different
  nouns and random verbs and places, then two of them again as "The NOUN VERB PREP the PLACE .". Verbs
  are drawn independently per story, so "cat → sat" is no bigram: after the second "The cat" only
  the earlier sentence says "sat". The lesson's examples ("The cat sat on the mat. The cat", "A dog ran
  in the park. The dog") are stories of this kind.

The answer key (which heads are induction and previous-token heads) is measured after training and
kept in a separate file that only trusted grading code reads.
"""

from __future__ import annotations

import torch

from workers.reference_models.checkpoints import device_of
from workers.reference_models.vocabulary import BOS, Vocabulary

NOUNS = ["cat", "dog", "bird", "fox", "cow", "pig", "owl", "rat", "bee", "ant"]
VERBS = ["sat", "ran", "slept", "jumped", "ate", "hid", "stood", "played", "walked", "sang"]
PREPOSITIONS = ["on", "in", "under", "near", "by", "at"]
PLACES = ["mat", "park", "bed", "box", "tree", "road", "hill", "house", "lake", "field", "garden", "barn"]
OTHER = ["big", "small", "red", "old", "new", "and", "then", "it", "was", "saw", "with", "to", "of", "is",
         "blue", "green", "happy"]
VOCAB = Vocabulary([BOS, ".", "The", "the", "A", *NOUNS, *VERBS, *PREPOSITIONS, *PLACES, *OTHER])

SEQ_LEN = 44
MIN_SPAN, MAX_SPAN = 4, 20
CONFIG = {
    "n_layers": 2, "d_model": 64, "d_head": 16, "n_heads": 4, "n_ctx": 48, "d_vocab": len(VOCAB),
    "attn_only": True, "normalization_type": None, "positional_embedding_type": "standard",
}
LESSON_EXAMPLES = {"sat": "The cat sat on the mat. The cat", "ran": "A dog ran in the park. The dog"}


def _pick(words: list[str], generator: torch.Generator, k: int = 1) -> list[int]:
    chosen = torch.randperm(len(words), generator=generator)[:k]
    return [VOCAB[words[i]] for i in chosen]


def _random_words(generator: torch.Generator, n: int) -> list[int]:
    return torch.randint(1, len(VOCAB), (n,), generator=generator).tolist()


def _between(generator: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high + 1, (), generator=generator))


def _story(generator: torch.Generator) -> tuple[list[int], list[float]]:
    nouns = _pick(NOUNS, generator, 3)
    sentences = []
    for noun in nouns:
        (verb,), (prep,), (place,) = _pick(VERBS, generator), _pick(PREPOSITIONS, generator), _pick(PLACES, generator)
        sentences.append([noun, verb, prep, VOCAB["the"], place, VOCAB["."]])
    openers = [VOCAB["The"] if torch.rand((), generator=generator) < 0.5 else VOCAB["A"] for _ in sentences]
    story = [VOCAB[BOS], *_random_words(generator, _between(generator, 0, 3))]
    story += [w for opener, s in zip(openers, sentences) for w in [opener, *s]]
    story += _random_words(generator, _between(generator, 0, 4))
    for i in torch.randperm(3, generator=generator)[:2]:
        story += [VOCAB["The"], *sentences[i]]
    return story, [1.0] * (len(story) - 1)


def _repeated_span(generator: torch.Generator) -> tuple[list[int], list[float]]:
    length = _between(generator, MIN_SPAN, MAX_SPAN)
    prefix = _between(generator, 0, SEQ_LEN - 1 - 2 * length)
    span = _random_words(generator, length)
    row = [VOCAB[BOS], *_random_words(generator, prefix), *span, *span]
    return row, [0.0] * (prefix + length) + [1.0] * length


def batch(generator: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: three quarters repeated random spans (trained on the repeat only), a quarter stories
    (trained on every word), padded with untrained random words."""
    tokens, mask = [], []
    for i in range(size):
        row, trained = _story(generator) if i % 4 == 0 else _repeated_span(generator)
        padding = SEQ_LEN - len(row)
        tokens.append(row + _random_words(generator, padding))
        mask.append(trained + [0.0] * padding)
    return torch.tensor(tokens), torch.tensor(mask)


def repeated_random_tokens(generator: torch.Generator, batch_size: int = 64, length: int = 10) -> torch.Tensor:
    """``<bos>`` + ``length`` random words + the same words again: the standard induction probe."""
    words = torch.randint(1, len(VOCAB), (batch_size, length), generator=generator)
    return torch.cat([torch.zeros(batch_size, 1, dtype=torch.long), words, words], dim=1)


@torch.no_grad()
def head_scores(model, tokens: torch.Tensor) -> dict[str, list[list[float]]]:
    """Per head, the mean attention to the token after the previous occurrence (induction) and to the previous token."""
    length = (tokens.shape[1] - 1) // 2
    _, cache = model.run_with_cache(tokens.to(device_of(model)), names_filter=lambda n: n.endswith("hook_pattern"))
    induction, previous = [], []
    for layer in range(model.cfg.n_layers):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"].cpu()  # [batch, head, query, key]
        queries = torch.arange(length + 1, 2 * length + 1)
        induction.append(pattern[:, :, queries, queries - length + 1].mean(dim=(0, 2)).tolist())
        rows = torch.arange(1, 2 * length + 1)
        previous.append(pattern[:, :, rows, rows - 1].mean(dim=(0, 2)).tolist())
    return {"induction": induction, "previous_token": previous}


@torch.no_grad()
def behaviour(model, probe: torch.Tensor) -> dict[str, float | str]:
    """Loss on the repeated half of ``probe`` and the model's answers to the lesson's two examples."""
    length = (probe.shape[1] - 1) // 2
    logits = model(probe.to(device_of(model))).cpu()
    log_probs = logits[:, length:-1].log_softmax(-1)
    repeated_loss = -log_probs.gather(-1, probe[:, length + 1:, None]).mean()
    results: dict[str, float | str] = {"repeated_tokens_loss": round(float(repeated_loss), 4)}
    for answer, text in LESSON_EXAMPLES.items():
        probs = model(VOCAB.encode(text)[None].to(device_of(model)))[0, -1].softmax(-1).cpu()
        results[f"p({answer} | {text})"] = round(float(probs[VOCAB[answer]]), 4)
        results[f"top({text})"] = VOCAB.words[int(probs.argmax())]
    return results


def answer_key(model, probe: torch.Tensor, threshold: float = 0.3) -> dict:
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
