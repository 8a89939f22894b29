"""Word-level vocabularies: each reference model reads whole words, so token ids map to words one to one."""

from __future__ import annotations

from collections.abc import Sequence

import torch

BOS = "<bos>"


class Vocabulary:
    """A fixed word list; ``encode`` splits on spaces and detaches the full stop, and prepends ``<bos>``."""

    def __init__(self, words: Sequence[str]) -> None:
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary lists every word once")
        self.words = list(words)
        self.ids = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, word: str) -> int:
        return self.ids[word]

    def encode(self, text: str) -> torch.Tensor:
        words = [BOS, *text.replace(".", " . ").split()]
        unknown = [w for w in words if w not in self.ids]
        if unknown:
            raise KeyError(f"not in the vocabulary: {', '.join(unknown)}")
        return torch.tensor([self.ids[w] for w in words])

    def decode(self, tokens: torch.Tensor | Sequence[int]) -> str:
        return " ".join(self.words[int(t)] for t in tokens)
