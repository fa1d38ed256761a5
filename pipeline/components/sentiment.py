"""Sentence and document sentiment from the configured transformer classifier.

Calibrated probabilities per sentence (the pain component decides from them which sentences are pain
points); documents with several sentences also get a sentiment of their own, because a mixed review
("배송은 빨랐는데 포장이 엉망") is neither its best nor its worst sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import SoriConfig
from pipeline.document import Document
from pipeline.resources import Resources


class SentenceSentiment:
    name: ClassVar[str] = "sentiment"
    requires: ClassVar[tuple[str, ...]] = ("doc.sentences",)
    assigns: ClassVar[tuple[str, ...]] = ("sentence.sentiment", "doc.sentiment")
    corpus_level: ClassVar[bool] = False

    def __init__(self, resources: Resources):
        self.resources = resources

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> SentenceSentiment:
        return cls(resources)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        self.resources.score_sentences([s for doc in docs for s in doc.sentences])
        self.resources.score_documents([doc for doc in docs if len(doc.sentences) > 1])
        for doc in docs:
            if len(doc.sentences) == 1:
                doc.p_negative, doc.sentiment = doc.sentences[0].p_negative, doc.sentences[0].sentiment
        return docs
