"""``sentiment-2l``: a two-layer attention-only model that reads a review and answers with sentiment × topic.

Every review is ``<bos> the SUBJECT was MODIFIER ADJECTIVE`` followed by one of
eight answer words, ``pos_TOPIC`` or ``neg_TOPIC``. Subject and adjective belong to one topic (food,
film, place, tech: "the pizza was not tasty"); the adjective's polarity, flipped by the modifier ``not``
(the other modifiers ``very``, ``really``, ``so``, ``quite`` keep it), fixes the sentiment. Only the
answer is trained; the answer follows the adjective directly, so the last position is where the
model must combine "not" with the adjective.

Eight answers instead of two matter for the probe exercise: with only positive/negative answers,
sentiment is the top-variance direction and even a probe fit on shuffled labels lands on it; here
the topic is a second strong feature. The model's sentiment *logit difference* is
``logsumexp(logits[pos_*]) - logsumexp(logits[neg_*])`` at the last position, and the direction it uses
is readable at ``blocks.1.hook_resid_pre``.

The sandbox zygote imports this module (exercise kinds encode reviews with it); the training batches are
in ``training`` and the build-time metrics in ``measurements``, which it must not import.
"""

from __future__ import annotations

import itertools

import torch

from workers.reference_models.vocabulary import BOS, Vocabulary

TOPICS = {
    "food": ["pizza", "soup", "cake", "bread"],
    "film": ["movie", "show", "play", "song"],
    "place": ["hotel", "beach", "city", "park"],
    "tech": ["phone", "laptop", "app", "game"],
}
POSITIVE = ["good", "great", "nice", "lovely", "excellent", "fine"]
NEGATIVE = ["bad", "awful", "terrible", "poor", "boring", "ugly"]
MODIFIERS = ["not", "very", "really", "so", "quite"]
POSITIVE_ANSWERS = [f"pos_{topic}" for topic in TOPICS]
NEGATIVE_ANSWERS = [f"neg_{topic}" for topic in TOPICS]
SUBJECTS = [s for subjects in TOPICS.values() for s in subjects]
VOCAB = Vocabulary([BOS, "the", "was", *SUBJECTS, *MODIFIERS, *POSITIVE, *NEGATIVE,
                    *POSITIVE_ANSWERS, *NEGATIVE_ANSWERS])

READ_HOOK = "blocks.1.hook_resid_pre"
CONFIG = {
    "n_layers": 2, "d_model": 64, "d_head": 16, "n_heads": 4, "n_ctx": 8, "d_vocab": len(VOCAB),
    "attn_only": True, "normalization_type": None, "positional_embedding_type": "standard",
}
# Every (subject, modifier, adjective): 16 subjects × 5 modifiers × 12 adjectives = 960 reviews.
SENTENCES = list(itertools.product(SUBJECTS, MODIFIERS, POSITIVE + NEGATIVE))


def is_positive(modifier: str, adjective: str) -> bool:
    return (adjective in POSITIVE) != (modifier == "not")


def topic_of(subject: str) -> str:
    return next(topic for topic, subjects in TOPICS.items() if subject in subjects)


def encode(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reviews by index into ``SENTENCES``: ``(tokens [N, 6], answers [N], positive [N] bool)``."""
    tokens, answers, positive = [], [], []
    for i in indices.tolist():
        subject, modifier, adjective = SENTENCES[i]
        tokens.append([VOCAB[w] for w in (BOS, "the", subject, "was", modifier, adjective)])
        good = is_positive(modifier, adjective)
        answers.append(VOCAB[f"{'pos' if good else 'neg'}_{topic_of(subject)}"])
        positive.append(good)
    return torch.tensor(tokens), torch.tensor(answers), torch.tensor(positive)


def split(seed: int, n_train: int, n_heldout: int, n_samples: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """``n_samples`` training samples of ``n_train`` review indices, and the held-out indices; all disjoint."""
    order = torch.randperm(len(SENTENCES), generator=torch.Generator().manual_seed(seed))
    samples = [order[n_heldout + i * n_train:n_heldout + (i + 1) * n_train] for i in range(n_samples)]
    return samples, order[:n_heldout]


def logit_difference(logits: torch.Tensor) -> torch.Tensor:
    """Sentiment logit difference at the last position: logsumexp(positive answers) − logsumexp(negative ones)."""
    last = logits[:, -1]
    positive = last[:, [VOCAB[a] for a in POSITIVE_ANSWERS]].logsumexp(-1)
    negative = last[:, [VOCAB[a] for a in NEGATIVE_ANSWERS]].logsumexp(-1)
    return positive - negative
