"""Sentence and document sentiment from the configured transformer classifier.

Calibrated probabilities per sentence (the pain component decides from them which sentences are pain
points). A document of several sentences also gets a sentiment of its own from a pass over its whole
text, because a mixed review ("배송은 빨랐는데 포장이 엉망") is neither its best nor its worst
sentence. When its sentences all say the same thing, each surely enough
(`sentiment.document_from_agreeing_sentences`), the whole text says it too: the document takes their
label and mean probabilities, and that pass, about as long as the sentences' together, is spared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import SoriConfig
from pipeline.document import Document, Sentence
from pipeline.resources import Resources


def confidence(sentence: Sentence) -> float:
    """The probability of the sentence's own label."""
    return max(sentence.p_negative, sentence.p_positive, 1.0 - sentence.p_negative - sentence.p_positive)


def agreeing(sentences: Sequence[Sentence], min_confidence: float | None) -> bool:
    """Whether the sentences share one label, each with at least `min_confidence`; never with None."""
    if min_confidence is None:
        return False
    return (len({s.sentiment for s in sentences}) == 1
            and all(confidence(s) >= min_confidence for s in sentences))


class SentenceSentiment:
    name: ClassVar[str] = "sentiment"
    requires: ClassVar[tuple[str, ...]] = ("doc.sentences",)
    assigns: ClassVar[tuple[str, ...]] = ("sentence.sentiment", "doc.sentiment")
    corpus_level: ClassVar[bool] = False

    def __init__(self, resources: Resources, from_agreeing_sentences: float | None = None):
        self.resources = resources
        self.from_agreeing_sentences = from_agreeing_sentences

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> SentenceSentiment:
        return cls(resources, config.sentiment.document_from_agreeing_sentences)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        self.resources.score_sentences([s for doc in docs for s in doc.sentences])
        whole = [doc for doc in docs if len(doc.sentences) > 1
                 and not agreeing(doc.sentences, self.from_agreeing_sentences)]
        self.resources.score_documents(whole)
        passed = {id(doc) for doc in whole}
        for doc in docs:
            if doc.sentences and id(doc) not in passed:
                doc.sentiment = doc.sentences[0].sentiment
                doc.p_negative = round(sum(s.p_negative for s in doc.sentences) / len(doc.sentences), 4)
        return docs
