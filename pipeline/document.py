"""The objects that flow through the pipeline.

Sources yield `FeedbackItem`s (one text to mine, with its metadata); the NLP pipeline wraps each in a
`Document` that every component enriches in place, the way a spaCy `Doc` travels through its
pipeline. Ids are derived from the source and the record's own key, never from run order, so the same
input always lands on the same warehouse rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

# Record ids and product names are keys in the warehouse (VARCHAR(256)); longer ones are quarantined.
MAX_KEY_LENGTH = 256


def stable_id(*parts: object) -> str:
    """A short deterministic id: the same parts give the same id on every run and machine."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=10).hexdigest()


@dataclass
class FeedbackItem:
    """One text to mine: a review, one answer of a survey response, or one customer chat turn."""

    source: str
    kind: str
    channel: str
    source_id: str
    created_at: datetime
    record_date: date
    text: str
    part: str = ""
    rating: float | None = None
    nps: int | None = None
    question: str | None = None
    product: str | None = None
    conversation_id: str | None = None
    location: str = ""

    @property
    def feedback_id(self) -> str:
        return stable_id(self.source, self.source_id, self.part)


@dataclass
class Conversation:
    """Facts of a chat that are evidence of pain in themselves, whatever the customer wrote."""

    source: str
    conversation_id: str
    started_at: datetime
    record_date: date
    turns: int
    customer_turns: int
    bot_turns_before_human: int
    reached_human: bool
    minutes_to_first_human: float | None
    asked_for_human: bool


@dataclass
class SurveyResponse:
    """One response, with or without free text: NPS counts every response."""

    source: str
    response_id: str
    created_at: datetime
    record_date: date
    nps: int | None
    answers: int
    product: str | None = None


@dataclass(frozen=True)
class HeadScores:
    """What the VOC model's heads read in a sentence (`models.voc`), before the taxonomy's editable
    layer (keywords, examples, thresholds) decides: P(pain point), P(asks for a response), and
    P(category) and P(touchpoint) by taxonomy key for the categories and touchpoints the model was
    trained on."""

    pain: float
    response: float
    categories: dict[str, float]
    touchpoints: dict[str, float]


@dataclass
class Sentence:
    index: int
    start: int
    end: int
    text: str
    # Kiwi's spacing of a sentence that runs its words together ("맘에들지않아요" → "맘에 들지 않아요"),
    # which the models read instead; "" when it is spaced well enough. `text` stays as written.
    spaced: str = ""
    keywords: list[str] = field(default_factory=list)
    # Spacing-free lower-case text, PII masks blanked out with spaces: what keyword rules match.
    compact: str = ""
    # Where words can begin in `compact`: each morpheme's start, and each noun's (start, end), whose
    # tail can be a word of its own ("여직원" holds 직원). Empty for a sentence built without Kiwi.
    morpheme_starts: frozenset[int] = frozenset()
    noun_spans: tuple[tuple[int, int], ...] = ()
    # The morphemes' dictionary forms run together ("어렵어요" for 어려워요) and the offsets where each
    # begins or ends, so a stem keyword matches it in any conjugation. Empty without Kiwi.
    lemmas: str = ""
    lemma_bounds: frozenset[int] = frozenset()
    # Kiwi's morphemes of the sentence as `form/tag` (what the lexical sentiment view reads, so it need
    # not run Kiwi again); None for a sentence built without Kiwi.
    morphemes: tuple[str, ...] | None = field(default=None, repr=False)
    # The clause after the last contrastive ending ("다 좋은데 | 음질이 별로예요"), "" when none.
    contrast_tail: str = ""
    # It only denies a problem ("불만 없습니다", "나쁘진 않네요"): no pain point, however negative.
    denies_problem: bool = False
    # What it says besides the problems it denies ("오류 없이 | 잘 돌아가요" → "잘 돌아가요"), which
    # the pain detector judges instead; "" when it denies none.
    undenied: str = ""
    sentiment: str = "neutral"
    p_negative: float = 0.0
    p_positive: float = 0.0
    is_pain: bool = False
    # P(pain point) by the complaint head, the star rating's evidence included; None when no head
    # judged the sentence (it says nothing, or sentiment and cues decide).
    pain_probability: float | None = None
    categories: list[str] = field(default_factory=list)
    category_scores: dict[str, float] = field(default_factory=dict)
    touchpoint: str | None = None
    topic_id: int | None = None
    topic_label: str | None = None
    severity: int | None = None
    severity_score: float | None = None
    response_needed: bool = False
    embedding: np.ndarray | None = field(default=None, repr=False)
    # Set with the sentiment and embedding when a VOC model scores the sentence; None otherwise.
    heads: HeadScores | None = field(default=None, repr=False)

    @property
    def model_text(self) -> str:
        """What the sentiment adapter and the encoder read: the respaced text, if any, else the text."""
        return self.spaced or self.text

    @property
    def category_score(self) -> float | None:
        """How strongly the sentence itself names its primary category: the tagger's score for it (head
        probability plus keyword bonus), 0 for `other`, low for tags taken from a neighbour; None
        when the tagger has not scored it."""
        if not self.categories or not self.category_scores:
            return None
        return self.category_scores.get(self.categories[0], 0.0)


@dataclass
class Document:
    item: FeedbackItem
    text: str = ""
    language: str = "und"
    masked_text: str = ""
    masked_kinds: list[str] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    sentiment: str = "neutral"
    p_negative: float = 0.0
    conversation: Conversation | None = None
    # What the per-text limits (config `limits:`) left unread: characters past `max_characters`, and
    # sentences that repeat an earlier one or come after `max_sentences`. Recorded, never silent.
    characters_cut: int = 0
    sentences_cut: int = 0

    @property
    def feedback_id(self) -> str:
        return self.item.feedback_id

    def pain_point_id(self, sentence: Sentence) -> str:
        return stable_id(self.feedback_id, sentence.index)

    @property
    def model_text(self) -> str:
        """What the models read of the whole text: its sentences as they read each one."""
        return " ".join(s.model_text for s in self.sentences)

    @property
    def morphemes(self) -> tuple[str, ...] | None:
        """Its sentences' morphemes in order; None when a sentence has none recorded."""
        if any(s.morphemes is None for s in self.sentences):
            return None
        return tuple(m for s in self.sentences for m in s.morphemes or ())

    @property
    def pain_sentences(self) -> list[Sentence]:
        return [s for s in self.sentences if s.is_pain]
