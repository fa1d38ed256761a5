"""Topic of each pain sentence, by the saved topic model's nearest centroid.

Assigning only: fitting a first model is the application's explicit step (`Sori.fit_topics_if_missing`),
and a refit is a flow of its own, so a transform never writes to disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from pipeline.config import SoriConfig, TopicsConfig
from pipeline.document import Document, Sentence
from pipeline.resources import Resources
from pipeline.topics.model import (
    META_FILE,
    OUTLIER,
    OUTLIER_LABEL,
    TopicLabels,
    TopicModel,
    import_fitting_libraries,
    saved_meta,
    writer_lock,
)

log = logging.getLogger("sori.topics")


class TopicAssigner:
    """Sets each pain sentence's topic id and label; −1 (미분류) for every one while no model exists."""

    name: ClassVar[str] = "topics"
    requires: ClassVar[tuple[str, ...]] = ("sentence.is_pain", "sentence.embedding")
    assigns: ClassVar[tuple[str, ...]] = ("sentence.topic_id",)
    # Topics are one model over the whole run: the first fit needs every pain sentence at once.
    corpus_level: ClassVar[bool] = True

    def __init__(self, config: TopicsConfig, labels: TopicLabels, resources: Resources,
                 model: TopicModel | None = None):
        self.config = config
        self.labels = labels
        self.resources = resources
        self._model = model
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> TopicAssigner:
        """The saved model, if any, is read when the topic step first needs it (`model`): building a
        pipeline, at a flow run's start or on a worker that only classifies, imports no BERTopic. Its
        metadata is checked here, so an encoder change fails before any mining, as a broken labels
        file does."""
        labels = TopicLabels(config.topics.labels)
        labels.get()
        if (config.topics.model_dir / META_FILE).exists():
            saved_meta(config.topics.model_dir, resources.embedder)
        return cls(config.topics, labels, resources)

    @property
    def model(self) -> TopicModel | None:
        """The model this assigner uses: one given or fitted, else the saved one, read on first use under
        the writers' lock (so a refit saving meanwhile is read whole, and is the version rows record)."""
        directory = self.config.model_dir
        with self._lock:
            if self._model is None and (directory / META_FILE).exists():
                with writer_lock(directory):
                    self._model = TopicModel.load(directory, self.resources.embedder, self.labels)
            return self._model

    def warm_up(self) -> None:
        """Reads the saved model now, or, without one, imports what fitting a first one needs (BERTopic,
        UMAP, HDBSCAN: seconds), instead of when the topic step first needs them."""
        if self.model is None:
            import_fitting_libraries()

    def fit_if_missing(self, docs: Sequence[Document], save: bool) -> None:
        """Without a model, fits the first one on the run's pain sentences when there are at least
        `min_documents`; saved and reloaded when `save`, so this run assigns exactly as the nightly runs
        after it will. A model another run saved meanwhile is loaded instead of fitting a rival."""
        sentences = [s for doc in docs for s in doc.pain_sentences]
        if self.model is not None or len(sentences) < self.config.min_documents:
            return
        if not save:
            self._model = self._fit(sentences)
            return
        directory, embedder = self.config.model_dir, self.resources.embedder
        with writer_lock(directory):
            if not (directory / META_FILE).exists():
                self._fit(sentences).save(directory)
            self._model = TopicModel.load(directory, embedder, self.labels)

    def _fit(self, sentences: Sequence[Sentence]) -> TopicModel:
        log.info("fitting a topic model on %d pain sentences", len(sentences))
        embeddings = np.vstack([s.embedding for s in sentences if s.embedding is not None])
        return TopicModel.fit([s.text for s in sentences], embeddings, self.config, self.resources.embedder,
                              self.resources.analyzer, labels=self.labels)

    @property
    def version(self) -> str:
        return self.model.version if self.model else "none"

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences: list[Sentence] = [s for doc in docs for s in doc.pain_sentences]
        if not sentences:
            return docs
        model = self.model
        if model is None:
            log.warning("no topic model yet and only %d pain sentences (< %d): topics left unassigned",
                        len(sentences), self.config.min_documents)
            for sentence in sentences:
                sentence.topic_id, sentence.topic_label = OUTLIER, OUTLIER_LABEL
            return docs
        embeddings = np.vstack([s.embedding for s in sentences if s.embedding is not None])
        assigned = model.assign([s.text for s in sentences], embeddings)
        for sentence, topic_id in zip(sentences, assigned, strict=True):
            sentence.topic_id, sentence.topic_label = topic_id, model.label(topic_id)
        return docs
