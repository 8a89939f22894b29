"""``induction-2l`` and ``induction-2l-alt``: two-layer attention-only models that form induction heads.

This module holds what code around a model needs: the vocabulary, the config and the standard probe.
How the models were trained (repeated random spans and sentence stories such as the lesson's examples,
see ``training``) and how their answer key was measured (``measurements``) are build-time only: the
sandbox zygote imports this module, and learner code in a child must find no recipe or answer in it.
The answer key (which heads are induction and previous-token heads) is kept in a separate file that
only trusted grading code reads.
"""

from __future__ import annotations

import torch

from workers.reference_models.vocabulary import BOS, Vocabulary

NOUNS = ["cat", "dog", "bird", "fox", "cow", "pig", "owl", "rat", "bee", "ant"]
VERBS = ["sat", "ran", "slept", "jumped", "ate", "hid", "stood", "played", "walked", "sang"]
PREPOSITIONS = ["on", "in", "under", "near", "by", "at"]
PLACES = ["mat", "park", "bed", "box", "tree", "road", "hill", "house", "lake", "field", "garden", "barn"]
OTHER = ["big", "small", "red", "old", "new", "and", "then", "it", "was", "saw", "with", "to", "of", "is",
         "blue", "green", "happy"]
VOCAB = Vocabulary([BOS, ".", "The", "the", "A", *NOUNS, *VERBS, *PREPOSITIONS, *PLACES, *OTHER])

CONFIG = {
    "n_layers": 2, "d_model": 64, "d_head": 16, "n_heads": 4, "n_ctx": 48, "d_vocab": len(VOCAB),
    "attn_only": True, "normalization_type": None, "positional_embedding_type": "standard",
}
LESSON_EXAMPLES = {"sat": "The cat sat on the mat. The cat", "ran": "A dog ran in the park. The dog"}


def repeated_random_tokens(generator: torch.Generator, batch_size: int = 64, length: int = 10) -> torch.Tensor:
    """``<bos>`` + ``length`` random words + the same words again: the standard induction probe."""
    words = torch.randint(1, len(VOCAB), (batch_size, length), generator=generator)
    return torch.cat([torch.zeros(batch_size, 1, dtype=torch.long), words, words], dim=1)
