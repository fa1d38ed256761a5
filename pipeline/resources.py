"""The heavy things components read, built once per process and handed to each component.

Kiwi, the sentiment classifier and the encoder are loaded once per models configuration
(`Resources.for_models`); heads fitted on example files are memoised on the Resources by what they
were fitted on (`fitted`), so a taxonomy edit fits new heads while an unchanged config reuses them.
Components take everything heavy from here rather than building it, so the nightly run, the refit
and `sori classify` embed with the same encoder and backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from kiwipiepy import Kiwi

from models.embedder import Embedder
from models.onnx import sentiment_model
from models.sentiment import LABELS
from pipeline.config import ModelsConfig
from pipeline.document import Document, Sentence
from pipeline.text.korean import KoreanAnalyzer, shared_kiwi
from pipeline.text.normalize import normalize_text

T = TypeVar("T")

_by_models: dict[str, Resources] = {}
_by_models_lock = threading.Lock()


class Resources:
    def __init__(self, models: ModelsConfig, kiwi: Kiwi | None = None):
        self.models = models
        self.kiwi = kiwi or shared_kiwi()
        self.analyzer = KoreanAnalyzer(self.kiwi)
        self.classifier: Any = sentiment_model(models.sentiment, models.device, models.backend)
        self.embedder = Embedder(models.encoder, models.device, models.batch_size, models.backend)
        self._fitted: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_models(cls, models: ModelsConfig) -> Resources:
        """The process's Resources for these models: every pipeline, refit and classify shares it."""
        key = models.model_dump_json()
        with _by_models_lock:
            if key not in _by_models:
                _by_models[key] = cls(models)
            return _by_models[key]

    def fitted(self, key: Hashable, fit: Callable[[], T]) -> T:
        """`fit()`'s result, computed once per key on this Resources (threads of one run share it)."""
        with self._lock:
            if key not in self._fitted:
                self._fitted[key] = fit()
            return self._fitted[key]

    def score_sentences(self, sentences: Sequence[Sentence]) -> None:
        """Sets each sentence's calibrated P(negative), P(positive) and label from what the models read
        of it (`Sentence.model_text`)."""
        scores = self.classifier.predict([s.model_text for s in sentences], batch_size=self.models.batch_size)
        for sentence, probs in zip(sentences, scores.probs, strict=True):
            sentence.p_negative = round(float(probs[0]), 4)
            sentence.p_positive = round(float(probs[2]), 4)
            sentence.sentiment = LABELS[int(probs.argmax())]

    def score_documents(self, docs: Sequence[Document]) -> None:
        """Sets each document's P(negative) and label from its whole text."""
        scores = self.classifier.predict([doc.model_text for doc in docs], batch_size=self.models.batch_size)
        for doc, probs in zip(docs, scores.probs, strict=True):
            doc.p_negative = round(float(probs[0]), 4)
            doc.sentiment = LABELS[int(probs.argmax())]

    def embed_sentences(self, sentences: Sequence[Sentence]) -> None:
        """Sets each sentence's embedding from what the models read of it (`Sentence.model_text`)."""
        vectors = self.embedder.embed([s.model_text for s in sentences])
        for sentence, vector in zip(sentences, vectors, strict=True):
            sentence.embedding = vector

    def score_texts(self, texts: Sequence[str]) -> list[list[Sentence]]:
        """Texts as the pipeline's first stages leave them: normalised, split, with sentiment and
        embeddings. Fitting heads on example files and judging parts of a sentence read text so."""
        split = self.analyzer.sentences([normalize_text(t) for t in texts])
        sentences = [s for group in split for s in group]
        self.score_sentences(sentences)
        self.embed_sentences(sentences)
        return split
