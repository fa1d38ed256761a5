"""The topic model's embedder for BERTopic, apart from pipeline.topics.model so that importing the
model's module does not import BERTopic (its `BaseEmbedder` is the base class here)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bertopic.backend import BaseEmbedder

from models.embedder import Embedder


class SoriEmbeddings(BaseEmbedder):
    """BERTopic's own embedding calls (MMR's candidate words) go through sori's Embedder, with the
    same prompt and backend as the sentences it clusters."""

    def __init__(self, embedder: Embedder):
        super().__init__()
        self.embedder = embedder

    def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
        return self.embedder.embed(list(documents))
