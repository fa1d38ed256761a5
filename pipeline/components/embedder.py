"""Sentence embeddings for the later stages: pain detection, tagging and topics read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import SoriConfig
from pipeline.document import Document
from pipeline.resources import Resources
from pipeline.text.korean import has_content


class EmbedSentences:
    """Embeds every sentence that can be a pain point (one that says something, or one already
    marked), once."""

    name: ClassVar[str] = "embed"
    requires: ClassVar[tuple[str, ...]] = ("doc.sentences",)
    assigns: ClassVar[tuple[str, ...]] = ("sentence.embedding",)
    corpus_level: ClassVar[bool] = False

    def __init__(self, resources: Resources):
        self.resources = resources

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> EmbedSentences:
        return cls(resources)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences = [s for doc in docs for s in doc.sentences
                     if s.embedding is None and (s.is_pain or has_content(s))]
        self.resources.embed_sentences(sentences)
        return docs
