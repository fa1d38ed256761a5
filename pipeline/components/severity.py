"""How badly a pain point hurts, on a 1–5 scale a frontline team can sort by.

The score adds up evidence that a complaint is worse than its words' negativity alone: intensity and
escalation language, an explicit request for an answer, refund, call-back or fix (`response_needed`),
the customer's own score (1–2★, an NPS detractor), and the shape of the chat it came from (asked for a
human and never got one, a long wait for the first human reply, a bot loop). The config's `severity:`
section holds the weights; `response_needed` is decided by pipeline/text/actionability.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from pipeline.config import SeverityConfig, SoriConfig
from pipeline.document import Conversation, Document, FeedbackItem, Sentence
from pipeline.resources import Resources
from pipeline.text.actionability import needs_response

_INTENSITY = re.compile(
    r"최악|절대|다시는|두번다시|화나|화가|짜증|빡치|빡쳐|개빡|어이없|어이가없|황당|열받|미치겠|답답|"
    r"실망|분노|역대급|쓰레기|ㅡㅡ|ㅗ|!!"
)
_ESCALATION = re.compile(r"소비자원|소비자보호|신고|고소|고발|법적|민원|카드사|공정위|국민신문고|변호사|소송")


def severity_score(sentence: Sentence, item: FeedbackItem, conversation: Conversation | None,
                   weights: SeverityConfig | None = None) -> float:
    weights = weights or SeverityConfig()
    score = weights.negativity * sentence.p_negative
    if _INTENSITY.search(sentence.text):
        score += weights.intensity
    if _ESCALATION.search(sentence.text):
        score += weights.escalation
    if sentence.response_needed:
        score += weights.response_needed
    if item.rating is not None and item.rating <= 2:
        score += weights.low_rating
    if item.nps is not None and item.nps <= 6:
        score += weights.detractor
    if len(sentence.categories) > 1:
        score += weights.several_categories
    if conversation is not None:
        if conversation.asked_for_human and not conversation.reached_human:
            score += weights.human_denied
        wait = conversation.minutes_to_first_human
        if wait is not None and wait >= weights.long_wait_minutes:
            score += weights.long_wait
        if conversation.bot_turns_before_human >= weights.bot_loop_turns:
            score += weights.bot_loop
    return round(min(score, 1.0), 4)


def severity_level(score: float) -> int:
    """1 (mild) … 5 (critical), in equal bands of the 0–1 score."""
    return min(5, 1 + int(score * 5))


class SeverityScorer:
    """Scores each pain point 0–1 and 1–5, and decides whether it asks for a response."""

    name: ClassVar[str] = "severity"
    requires: ClassVar[tuple[str, ...]] = ("sentence.is_pain", "sentence.sentiment", "sentence.categories")
    assigns: ClassVar[tuple[str, ...]] = ("sentence.severity", "sentence.response_needed")
    corpus_level: ClassVar[bool] = False

    def __init__(self, weights: SeverityConfig | None = None):
        self.weights = weights or SeverityConfig()

    @classmethod
    def from_config(cls, config: SoriConfig, resources: Resources) -> SeverityScorer:
        return cls(config.severity)

    def __call__(self, docs: Sequence[Document]) -> Sequence[Document]:
        for doc in docs:
            for sentence in doc.pain_sentences:
                sentence.response_needed = needs_response(sentence)
                sentence.severity_score = severity_score(sentence, doc.item, doc.conversation, self.weights)
                sentence.severity = severity_level(sentence.severity_score)
        return docs
