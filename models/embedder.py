"""Sentence embeddings from the configured encoder: texts in, unit vectors out.

The encoder is any sentence-transformers model or its ONNX Runtime export (`models.onnx`); e5-style
models expect a "query: " prefix for symmetric tasks such as clustering and similarity, which the
builtin model's prompts provide.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.onnx import Backend, sentence_model


class Embedder:
    """`model` names the encoder; `encoder`, when given, is that model already loaded (anything with
    the `encode`/`prompts` interface, such as a VOC model's `VocEncoder`), so nothing is loaded twice."""

    def __init__(self, model: str, device: str | None = None, batch_size: int = 64,
                 backend: Backend = "torch", encoder: Any = None):
        self.model_name = model
        # A SentenceTransformer, or its ONNX Runtime export (same encode/prompts interface).
        self.model = encoder if encoder is not None else sentence_model(model, device, backend)
        self.batch_size = batch_size
        self.prompt_name = "query" if "query" in (self.model.prompts or {}) else None

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
