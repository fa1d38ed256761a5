"""Sentence embeddings from the configured encoder, shared by tagging and topics.

The encoder is any sentence-transformers model; e5-style models expect a "query: " prefix for
symmetric tasks such as clustering and similarity, which the builtin model's prompts provide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.onnx import Backend, sentence_model
from pipeline.document import Document, Sentence
from pipeline.text.korean import has_content


class Embedder:
    def __init__(self, model: str, device: str | None = None, batch_size: int = 64,
                 backend: Backend = "torch"):
        self.model_name = model
        # A SentenceTransformer, or its ONNX Runtime export (same encode/prompts interface).
        self.model = sentence_model(model, device, backend)
        self.batch_size = batch_size
        self.prompt_name = "query" if "query" in (self.model.prompts or {}) else None

    def __eq__(self, other: object) -> bool:
        """Equal when they embed alike: the same (cached, shared) model, batch size and prompt, so
        work derived from embeddings can be cached across pipelines built from one config."""
        return isinstance(other, Embedder) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _identity(self) -> tuple[int, int, str | None]:
        return id(self.model), self.batch_size, self.prompt_name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 rows, so a dot product is a cosine similarity."""
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            prompt_name=self.prompt_name,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


    def embed_sentences(self, sentences: Sequence[Sentence]) -> None:
        """Sets each sentence's embedding from what the models read of it (`Sentence.model_text`)."""
        for sentence, vector in zip(sentences, self.embed([s.model_text for s in sentences]), strict=True):
            sentence.embedding = vector


class EmbedSentences:
    """Pipeline component: embeds every sentence that can be a pain point (one that says something,
    or one already marked), once: pain detection, tagging and topics read the embeddings."""

    name = "embed"

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences = [s for doc in docs for s in doc.sentences
                     if s.embedding is None and (s.is_pain or has_content(s))]
        self.embedder.embed_sentences(sentences)
        return docs
