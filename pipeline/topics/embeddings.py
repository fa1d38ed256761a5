"""The topic model's BERTopic-side parts, apart from pipeline.topics.model so that importing the model's
module does not import BERTopic: its embedder, and the word re-ranking that embeds with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bertopic.backend import BaseEmbedder
from bertopic.representation import MaximalMarginalRelevance
from bertopic.representation._mmr import mmr

from models.embedder import Embedder


class SoriEmbeddings(BaseEmbedder):
    """BERTopic's own embedding calls (MMR's candidate words) go through sori's Embedder, with the
    same prompt and backend as the sentences it clusters."""

    def __init__(self, embedder: Embedder):
        super().__init__()
        self.embedder = embedder

    def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
        return self.embedder.embed(list(documents))


class BatchedMMR(MaximalMarginalRelevance):
    """BERTopic's maximal marginal relevance, with every topic's candidate words (and each topic's words
    joined, its query) embedded in one call rather than two calls per topic: the same vectors, since
    a text's embedding does not depend on its batch mates, for one model pass over the distinct words."""

    def extract_topics(self, topic_model: Any, documents: Any, c_tf_idf: Any,
                       topics: Mapping[int, list[tuple[str, float]]]) -> dict[int, list[tuple[str, float]]]:
        words = {topic: [word for word, _ in candidates] for topic, candidates in topics.items()}
        texts = list(dict.fromkeys([w for ws in words.values() for w in ws]
                                   + [" ".join(ws) for ws in words.values()]))
        vectors = dict(zip(texts, topic_model.embedding_model.embed_words(texts), strict=True))
        updated = {}
        for topic, ws in words.items():
            if not ws:
                updated[topic] = list(topics[topic])
                continue
            kept = set(mmr(vectors[" ".join(ws)].reshape(1, -1), np.vstack([vectors[w] for w in ws]), ws,
                           self.diversity, self.top_n_words))
            updated[topic] = [(word, value) for word, value in topics[topic] if word in kept]
        return updated
