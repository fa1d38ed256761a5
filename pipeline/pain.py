"""Which sentences are pain points: a complaint head over the sentence's embedding and sentiment.

A classifier trained on opinionated reviews is a poor judge of complaints on its own. It scores plain
questions ("영상 통화하면 돈 드나요?") and slang praise ("여기야말로 지상낙원") negative, and
descriptive complaints ("앱이 안 열려요", "다 좋은데 음질 개선해 주세요") neutral. The complaint head
is a logistic regression over the sentence embedding, the sentiment logits and a complaint cue (a
negated predicate, a complaint word, a request for a fix, from the taxonomy). It is fitted when the
pipeline is built, on sentences written for the project: the complaint phrases of the category head
plus `data/tagging/pain_examples.csv` (has_pain 0/1, labelled by docs/labelling-guide.md). On the
tune split of models/evaluate_tagging.py it raised has_pain accuracy from 0.80 (P(negative) ≥ 0.5 or
a cue) to 0.85. With `pain.examples: null` that rule decides instead.

Either way the sentence must say something: an emoji, "네...", "6번." or an order number tells how
someone feels or answers a question, not what hurts. It still counts in its document's sentiment, but
it is no evidence for a pain point. A negation is a cue only next to another word, what it negates
("답이 없어요"), so a survey's bare "없어요" (nothing to improve) is not one.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline.config import ComplaintCues, PainConfig, SentimentConfig
from pipeline.document import Document, Sentence
from pipeline.embedding import Embedder
from pipeline.korean import NEGATIONS, KoreanAnalyzer, has_content, shared_kiwi
from pipeline.normalize import normalize_text

_HANGUL_RUN = re.compile("[가-힣]+")
EXAMPLE_COLUMNS = ("text", "has_pain", "kind")


def complaint_cue(sentence: Sentence, cues: ComplaintCues) -> str | None:
    """The first cue in the sentence (a keyword or a phrase), or None."""
    negated = cues.negations and len(_HANGUL_RUN.findall(sentence.text)) >= 2
    for word in sentence.keywords:
        if word in cues.words or (negated and word in NEGATIONS):
            return word
    return next((phrase for phrase in cues.phrases if phrase in sentence.compact), None)


@dataclass(frozen=True)
class PainExample:
    text: str
    has_pain: bool


def read_pain_examples(path: Path) -> list[PainExample]:
    """The example file's rows; a row without a text or with has_pain other than 0/1 is an error."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != EXAMPLE_COLUMNS:
            raise ValueError(f"{path}: columns must be {','.join(EXAMPLE_COLUMNS)}")
        examples = []
        for line, row in enumerate(reader, start=2):
            if not (row["text"] or "").strip() or row["has_pain"] not in ("0", "1"):
                raise ValueError(f"{path}:{line}: an example needs a text and has_pain 0 or 1: {row}")
            examples.append(PainExample(row["text"].strip(), row["has_pain"] == "1"))
    return examples


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def features(sentences: Sequence[Sentence], cues: ComplaintCues) -> np.ndarray:
    """Per sentence: its embedding, logit P(negative), logit P(positive) and whether it has a cue."""
    if any(s.embedding is None for s in sentences):
        raise ValueError("the complaint head needs sentence embeddings: run the embed component first")
    scores = np.array([[s.p_negative, s.p_positive] for s in sentences]).reshape(-1, 2)
    cue = np.array([[complaint_cue(s, cues) is not None] for s in sentences], dtype=float).reshape(-1, 1)
    return np.hstack([np.vstack([s.embedding for s in sentences]), _logit(scores), cue])


class ComplaintHead:
    """P(complaint | sentence). lbfgs on a fixed set is deterministic: the same examples, models and
    cues give the same head."""

    def __init__(self, sentences: Sequence[Sentence], targets: Sequence[bool], cues: ComplaintCues, c: float):
        self.cues = cues
        self.model = LogisticRegression(C=c, max_iter=3000).fit(features(sentences, cues), targets)

    def probabilities(self, sentences: Sequence[Sentence]) -> np.ndarray:
        if not sentences:
            return np.zeros(0)
        return self.model.predict_proba(features(sentences, self.cues))[:, 1]


def scored_sentences(texts: Sequence[str], classifier: Any, embedder: Embedder) -> list[list[Sentence]]:
    """Texts as the pipeline sees them: normalised, split, with sentiment and embeddings."""
    split = KoreanAnalyzer(shared_kiwi()).sentences([normalize_text(t) for t in texts])
    sentences = [s for group in split for s in group]
    texts = [s.text for s in sentences]
    probs = classifier.predict(texts, batch_size=embedder.batch_size).probs
    for sentence, p, vector in zip(sentences, probs, embedder.embed(texts), strict=True):
        sentence.p_negative, sentence.p_positive, sentence.embedding = float(p[0]), float(p[2]), vector
    return split


@functools.lru_cache(maxsize=4)
def fitted_complaint_head(examples: tuple[PainExample, ...], classifier: Any, embedder: Embedder,
                          cues_json: str, c: float) -> ComplaintHead:
    """The head for these examples and models, fitted once per process; every sentence of an
    example carries its label."""
    split = scored_sentences([e.text for e in examples], classifier, embedder)
    sentences = [s for group in split for s in group]
    targets = [e.has_pain for e, group in zip(examples, split, strict=True) for _ in group]
    return ComplaintHead(sentences, targets, ComplaintCues.model_validate_json(cues_json), c)


class PainDetector:
    name = "pain"

    def __init__(self, cues: ComplaintCues, sentiment: SentimentConfig, head: ComplaintHead | None = None,
                 min_probability: float = 0.5):
        self.cues = cues
        self.sentiment = sentiment
        self.head = head
        self.min_probability = min_probability

    @classmethod
    def from_config(cls, cues: ComplaintCues, sentiment: SentimentConfig, pain: PainConfig,
                    complaints: Sequence[str], classifier: Any, embedder: Embedder) -> PainDetector:
        """With `pain.examples`, a head fitted on them plus `complaints` (written complaint sentences)."""
        if pain.examples is None:
            return cls(cues, sentiment)
        if not pain.examples.is_file():
            raise FileNotFoundError(f"pain.examples: {pain.examples} is not a file (null decides by "
                                    "sentiment and complaint cues alone)")
        examples = tuple([PainExample(text, True) for text in complaints] + read_pain_examples(pain.examples))
        head = fitted_complaint_head(examples, classifier, embedder, cues.model_dump_json(), pain.head_c)
        return cls(cues, sentiment, head, pain.min_probability)

    def rule(self, sentence: Sentence) -> bool:
        """Negative enough, or a complaint cue in a sentence the model does not find clearly positive."""
        if sentence.p_negative >= self.sentiment.negative_threshold:
            return True
        limit = self.sentiment.cue_max_positive
        if limit is None or sentence.p_positive >= limit:
            return False
        return complaint_cue(sentence, self.cues) is not None

    def is_pain(self, sentence: Sentence) -> bool:
        return self.detect([sentence])[0]

    def detect(self, sentences: Sequence[Sentence]) -> list[bool]:
        speaking = [has_content(s) for s in sentences]
        candidates = [s for s, ok in zip(sentences, speaking, strict=True) if ok]
        if self.head is None:
            decided = iter([self.rule(s) for s in candidates])
        else:
            decided = iter(self.head.probabilities(candidates) >= self.min_probability)
        return [bool(next(decided)) if ok else False for ok in speaking]

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        sentences = [s for doc in docs for s in doc.sentences]
        for sentence, pain in zip(sentences, self.detect(sentences), strict=True):
            sentence.is_pain = pain
        return docs
