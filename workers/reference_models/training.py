"""How the reference models were trained: one-thread determinism, the training data and the training loops.

Only ``recipes`` imports this (and so only ``manage.py build_reference_models``): with a recipe's seed and
step count, these functions rebuild a model's trained weights, which for a toy model are the answer to the
superposition exercise and for a hidden model are what it must keep hidden. Nothing the sandbox zygote
imports may import it; ``tests/workers/test_reparameterise.py`` checks that.

Induction data (one batch = three quarters repeated spans, one quarter stories, padded with random words to
length 44):

* repeated random spans: ``<bos>`` + a random prefix + a span of 4 to 20 random words + the same span again; only
  in-context copying predicts the repeat, and varying lengths and offsets rule out a positional shortcut;
* sentence stories: ``<bos>`` + three sentences "The|A NOUN VERB PREP the PLACE ." with three different
  nouns and random verbs and places, then two of them again as "The NOUN VERB PREP the PLACE .". Verbs
  are drawn independently per story, so "cat → sat" is no bigram: after the second "The cat" only
  the earlier sentence says "sat". The lesson's examples ("The cat sat on the mat. The cat", "A dog ran
  in the park. The dog") are stories of this kind.

Sentiment data: random reviews (``sentiment.SENTENCES``) with their answer word appended; only the answer
is trained. Toy superposition data: each feature is 0 with probability ``sparsity`` and uniform on [0, 1]
otherwise; the loss is the importance-weighted squared error Σ_i I_i (x_i − x̂_i)².
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from transformer_lens.model_bridge import TransformerBridge

from workers.reference_models import sentiment
from workers.reference_models.architectures import ToyModel
from workers.reference_models.induction import NOUNS, PLACES, PREPOSITIONS, VERBS, VOCAB
from workers.reference_models.vocabulary import BOS

SEQ_LEN = 44
MIN_SPAN, MAX_SPAN = 4, 20


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[torch.Generator]:
    """One CPU thread and a seeded generator: the same recipe gives bit-identical weights on this machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield torch.Generator().manual_seed(seed)
    finally:
        torch.set_num_threads(threads)


def train_next_token(
    model: TransformerBridge,
    batch: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]],
    generator: torch.Generator,
    steps: int,
    lr: float,
    weight_decay: float = 0.01,
    label_smoothing: float = 0.0,
) -> float:
    """Adam on cross-entropy at the positions ``batch`` marks; returns the last step's loss.

    ``batch(generator)`` returns ``(tokens [B, T], mask [B, T-1])``; the mask selects which next-token
    predictions are trained (all of them for language modelling, only the answer for classification).
    Label smoothing caps how far the loss pushes the logits, so no single feature grows without bound.
    """
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        tokens, mask = batch(generator)
        logits = model(tokens)[:, :-1]
        losses = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), tokens[:, 1:], reduction="none", label_smoothing=label_smoothing
        )
        loss = (losses * mask).sum() / mask.sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return float(loss.detach())


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


def induction_batch(generator: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """An induction training batch: three quarters repeated random spans (trained on the repeat only), a
    quarter stories (trained on every word), padded with untrained random words."""
    tokens, mask = [], []
    for i in range(size):
        row, trained = _story(generator) if i % 4 == 0 else _repeated_span(generator)
        padding = SEQ_LEN - len(row)
        tokens.append(row + _random_words(generator, padding))
        mask.append(trained + [0.0] * padding)
    return torch.tensor(tokens), torch.tensor(mask)


def sentiment_batch(generator: torch.Generator, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Random reviews with their answer appended; only the answer is trained."""
    tokens, answers, _ = sentiment.encode(torch.randint(0, len(sentiment.SENTENCES), (size,), generator=generator))
    mask = torch.zeros(size, tokens.shape[1])
    mask[:, -1] = 1.0
    return torch.cat([tokens, answers[:, None]], dim=1), mask


def sparse_features(n_features: int, sparsity: float, size: int, generator: torch.Generator) -> torch.Tensor:
    """``[size, n]`` inputs: each feature is 0 with probability ``sparsity``, else uniform on [0, 1]."""
    values = torch.rand(size, n_features, generator=generator)
    present = torch.rand(size, n_features, generator=generator) >= sparsity
    return values * present


def toy_loss(model: ToyModel, x: torch.Tensor) -> torch.Tensor:
    """The importance-weighted reconstruction error Σ_i I_i (x_i − x̂_i)², averaged over the batch."""
    return (model.importance * (x - model(x)) ** 2).sum(-1).mean()


def train_toy(model: ToyModel, generator: torch.Generator, steps: int, lr: float = 1e-3, batch: int = 1024) -> float:
    """Adam on ``toy_loss`` over fresh sparse batches; returns the last step's loss."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        loss = toy_loss(model, sparse_features(model.n_features, model.sparsity, batch, generator))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return float(loss.detach())
