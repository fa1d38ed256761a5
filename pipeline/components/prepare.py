"""The stages before any model: normalise the text, mask personal data, split into sentences."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import LimitsConfig, SoriConfig
from pipeline.document import Document, Sentence
from pipeline.resources import Resources
from pipeline.text.korean import KoreanAnalyzer
from pipeline.text.language import detect_language
from pipeline.text.normalize import normalize_text
from pipeline.text.pii.masker import PiiMasker


def cut_at_space(text: str, limit: int) -> str:
    """The text up to `limit` characters, ending at the last whitespace before it when there is one
    in its second half (a word is not cut in two), else at the limit."""
    if len(text) <= limit:
        return text
    space = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return text[:space].rstrip() if space > limit // 2 else text[:limit]


class Normalize:
    """Normalises the text, reads at most `limits.max_characters` of it (the rest is recorded as cut)
    and flags its language: non-Korean feedback is kept and marked."""

    name: ClassVar[str] = "normalize"
    requires: ClassVar[tuple[str, ...]] = ("doc.item",)
    assigns: ClassVar[tuple[str, ...]] = ("doc.text", "doc.language", "doc.characters_cut")
    corpus_level: ClassVar[bool] = False

    def __init__(self, limits: LimitsConfig | None = None):
        self.limits = limits or LimitsConfig()

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> Normalize:
        return cls(config.limits)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            full = normalize_text(doc.item.text)
            doc.text = cut_at_space(full, self.limits.max_characters)
            doc.characters_cut = len(full) - len(doc.text)
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
    """Kiwi's sentences of the masked text, each with its tokens, keywords and clauses. A sentence
    repeated more than `limits.max_repeats` times in one text, and every sentence after the first
    `limits.max_sentences`, is left out and counted as cut: a text that says one thing a thousand times
    is one complaint, not a thousand."""

    name: ClassVar[str] = "sentences"
    requires: ClassVar[tuple[str, ...]] = ("doc.masked_text",)
    assigns: ClassVar[tuple[str, ...]] = ("doc.sentences", "doc.sentences_cut")
    corpus_level: ClassVar[bool] = False

    def __init__(self, analyzer: KoreanAnalyzer, limits: LimitsConfig | None = None):
        self.analyzer = analyzer
        self.limits = limits or LimitsConfig()

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> SplitSentences:
        return cls(resources.analyzer, config.limits)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc, sentences in zip(docs, self.analyzer.sentences([d.masked_text for d in docs]), strict=True):
            doc.sentences = self.within_limits(sentences)
            doc.sentences_cut = len(sentences) - len(doc.sentences)
        return docs

    def within_limits(self, sentences: list[Sentence]) -> list[Sentence]:
        seen: Counter[str] = Counter()
        kept = []
        for sentence in sentences:
            seen[sentence.compact] += 1
            if seen[sentence.compact] <= self.limits.max_repeats:
                kept.append(sentence)
        return kept[: self.limits.max_sentences]
