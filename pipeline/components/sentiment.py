"""Sentence and document sentiment from the configured transformer classifier.

Calibrated probabilities per sentence (pipeline/components/pain.py decides from them which sentences are pain
points); documents with several sentences also get a sentiment of their own, because a mixed
review ("배송은 빨랐는데 포장이 엉망") is neither its best nor its worst sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.sentiment import SentimentClassifier
from pipeline.document import Document, Sentence

LABELS = ("negative", "neutral", "positive")


def score_sentences(sentences: Sequence[Sentence], classifier: SentimentClassifier,
                    batch_size: int = 64) -> None:
    """Sets each sentence's calibrated P(negative), P(positive) and label, as every stage reads them."""
    scores = classifier.predict([s.model_text for s in sentences], batch_size=batch_size)
    for sentence, probs in zip(sentences, scores.probs, strict=True):
        sentence.p_negative = round(float(probs[0]), 4)
        sentence.p_positive = round(float(probs[2]), 4)
        sentence.sentiment = LABELS[int(probs.argmax())]


class SentenceSentiment:
    name = "sentiment"

    def __init__(self, classifier: SentimentClassifier, batch_size: int = 64):
        self.classifier = classifier
        self.batch_size = batch_size

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        score_sentences([s for doc in docs for s in doc.sentences], self.classifier, self.batch_size)
        multi = [doc for doc in docs if len(doc.sentences) > 1]
        doc_scores = self.classifier.predict([doc.model_text for doc in multi], batch_size=self.batch_size)
        for doc, probs in zip(multi, doc_scores.probs, strict=True):
            doc.p_negative = round(float(probs[0]), 4)
            doc.sentiment = LABELS[int(probs.argmax())]
        for doc in docs:
            if len(doc.sentences) == 1:
                doc.p_negative, doc.sentiment = doc.sentences[0].p_negative, doc.sentences[0].sentiment
        return docs
