"""Which sentences are pain points: negative sentiment, or a complaint the sentiment model undersells.

Descriptive complaints ("앱이 안 열려요", "수건에서 곰팡이 냄새가 나요", "개선 좀 해주세요") carry little
sentiment, and a classifier trained on opinionated reviews scores many of them neutral. A sentence is
therefore a pain point when its P(negative) reaches the threshold, or when it carries a complaint cue
from the taxonomy (a negated predicate, a complaint word, a request for a fix) and the model does not
find it clearly positive, which keeps "후회 안 해요" and "나쁘지 않아요" out.

Either way the sentence must say something: an emoji, "네...", "6번." or an order number tells how
someone feels or answers a question, not what hurts. It still counts in its document's sentiment, but
it is no evidence for a pain point. A negation is a cue only next to another word, what it negates
("답이 없어요"), so a survey's bare "없어요" (nothing to improve) is not one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.config import ComplaintCues
from pipeline.document import Document, Sentence
from pipeline.korean import NEGATIONS

_WORD = re.compile("[가-힣]{2,}")
_HANGUL_RUN = re.compile("[가-힣]+")


def complaint_cue(sentence: Sentence, cues: ComplaintCues) -> str | None:
    """The first cue in the sentence (a keyword or a phrase), or None."""
    negated = cues.negations and len(_HANGUL_RUN.findall(sentence.text)) >= 2
    for word in sentence.keywords:
        if word in cues.words or (negated and word in NEGATIONS):
            return word
    return next((phrase for phrase in cues.phrases if phrase in sentence.compact), None)


def has_content(sentence: Sentence) -> bool:
    """A Korean word of two syllables or more."""
    return _WORD.search(sentence.text) is not None


class PainDetector:
    name = "pain"

    def __init__(self, cues: ComplaintCues, negative_threshold: float, cue_max_positive: float | None):
        self.cues = cues
        self.negative_threshold = negative_threshold
        self.cue_max_positive = cue_max_positive

    def is_pain(self, sentence: Sentence) -> bool:
        if not has_content(sentence):
            return False
        if sentence.p_negative >= self.negative_threshold:
            return True
        return (self.cue_max_positive is not None and sentence.p_positive < self.cue_max_positive
                and complaint_cue(sentence, self.cues) is not None)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            for sentence in doc.sentences:
                sentence.is_pain = self.is_pain(sentence)
        return docs
