"""The stages before any model: normalise the text, mask personal data, split into sentences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import SoriConfig
from pipeline.document import Document
from pipeline.resources import Resources
from pipeline.text.korean import KoreanAnalyzer
from pipeline.text.language import detect_language
from pipeline.text.normalize import normalize_text
from pipeline.text.pii.masker import PiiMasker


class Normalize:
    """Normalises the text and flags its language: non-Korean feedback is kept and marked."""

    name: ClassVar[str] = "normalize"
    requires: ClassVar[tuple[str, ...]] = ("doc.item",)
    assigns: ClassVar[tuple[str, ...]] = ("doc.text", "doc.language")
    corpus_level: ClassVar[bool] = False

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> Normalize:
        return cls()

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            doc.text = normalize_text(doc.item.text)
            doc.language = detect_language(doc.text)
        return docs


class Mask:
    """Personal data is masked before any later stage sees the text, so nothing downstream can leak it."""

    name: ClassVar[str] = "mask"
    requires: ClassVar[tuple[str, ...]] = ("doc.text",)
    assigns: ClassVar[tuple[str, ...]] = ("doc.masked_text", "doc.masked_kinds")
    corpus_level: ClassVar[bool] = False

    def __init__(self, masker: PiiMasker):
        self.masker = masker

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> Mask:
        return cls(PiiMasker(resources.kiwi))

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc, masked in zip(docs, self.masker.mask_many([d.text for d in docs]), strict=True):
            doc.masked_text = masked.text
            doc.masked_kinds = sorted(set(masked.kinds))
        return docs


class SplitSentences:
    """Kiwi's sentences of the masked text, each with its tokens, keywords and clauses."""

    name: ClassVar[str] = "sentences"
    requires: ClassVar[tuple[str, ...]] = ("doc.masked_text",)
    assigns: ClassVar[tuple[str, ...]] = ("doc.sentences",)
    corpus_level: ClassVar[bool] = False

    def __init__(self, analyzer: KoreanAnalyzer):
        self.analyzer = analyzer

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> SplitSentences:
        return cls(resources.analyzer)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc, sentences in zip(docs, self.analyzer.sentences([d.masked_text for d in docs]), strict=True):
            doc.sentences = sentences
        return docs
