"""What the generator makes: the rows of the three sample files, each with its ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Truth:
    """What an item really says; kept out of the sample files."""

    tone: str  # praise | neutral | complaint | mixed
    pains: tuple[str, ...] = ()  # one category key per complaint sentence (keys may repeat)
    touchpoints: tuple[str, ...] = ()
    event: str | None = None  # delivery_spike | app_update | None
    pii: bool = False

    @property
    def is_complaint(self) -> bool:
        """True for complaint and mixed items."""
        return self.tone in ("complaint", "mixed")


@dataclass(frozen=True)
class Review:
    """One row of reviews.csv plus its ground truth."""

    review_no: str
    written_at: datetime
    stars: int
    product_name: str
    review_text: str
    truth: Truth

    def row(self) -> list[str]:
        """The CSV row, in column order."""
        return [
            self.review_no,
            self.written_at.isoformat(),
            str(self.stars),
            self.product_name,
            self.review_text,
        ]


@dataclass(frozen=True)
class Survey:
    """One line of surveys.jsonl plus its ground truth."""

    resp_id: str
    answered_at: datetime
    nps: int
    q_reason: str
    q_improve: str | None
    truth: Truth

    def row(self) -> dict[str, object]:
        """The JSON object, in key order."""
        return {
            "resp_id": self.resp_id,
            "answered_at": self.answered_at.isoformat(),
            "nps": self.nps,
            "q_reason": self.q_reason,
            "q_improve": self.q_improve,
        }


@dataclass(frozen=True)
class Turn:
    """One chat message."""

    sent_at: datetime
    sender: str  # customer | agent | bot
    message: str


@dataclass(frozen=True)
class Chat:
    """One conversation of chats.csv plus its ground truth."""

    chat_id: str
    turns: tuple[Turn, ...]
    truth: Truth

    @property
    def started_at(self) -> datetime:
        """Time of the first turn."""
        return self.turns[0].sent_at


@dataclass(frozen=True)
class SampleSet:
    """Everything :func:`generate` makes."""

    reviews: list[Review]
    surveys: list[Survey]
    chats: list[Chat]

    def items(self) -> Iterator[tuple[str, str, datetime, Truth]]:
        """(source, id, timestamp, truth) for every review, survey response and conversation."""
        for r in self.reviews:
            yield "reviews", r.review_no, r.written_at, r.truth
        for s in self.surveys:
            yield "surveys", s.resp_id, s.answered_at, s.truth
        for c in self.chats:
            yield "chats", c.chat_id, c.started_at, c.truth
