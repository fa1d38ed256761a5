"""Documents as the NLP pipeline would leave them, for tests of what happens after it (no models)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pipeline.document import Document, FeedbackItem, Sentence

SEOUL = ZoneInfo("Asia/Seoul")


def pain_doc(source_id: str, day: date, text: str = "배송이 늦어요. 좋아요", *, source: str = "reviews",
             kind: str = "review", categories: tuple[str, ...] = ("delivery", "waiting"),
             severity: int = 4, response_needed: bool = False, nps: int | None = None,
             pain: bool = True, touchpoint: str = "delivery",
             pain_probability: float | None = None, rating: float | None = 2.0,
             product: str | None = None, part: str | None = None) -> Document:
    """A text whose first sentence (up to the first '. ') is a pain point and whose rest is praise."""
    first, _, rest = text.partition(". ")
    first = first + "." if rest else first
    item = FeedbackItem(source=source, kind=kind, channel=kind, source_id=source_id,
                        created_at=datetime(day.year, day.month, day.day, 12, tzinfo=SEOUL), record_date=day,
                        text=text, rating=rating if kind == "review" else None, nps=nps,
                        part=part if part is not None else "why" if kind == "survey" else "",
                        product=product)
    doc = Document(item=item, text=text, masked_text=text, sentiment="negative" if pain else "positive",
                   p_negative=0.9 if pain else 0.1)
    doc.sentences = [Sentence(0, 0, len(first), first, keywords=["배송"], p_negative=0.9 if pain else 0.1,
                              is_pain=pain, sentiment="negative" if pain else "positive",
                              categories=list(categories), touchpoint=touchpoint, topic_id=-1,
                              topic_label="미분류", severity=severity, severity_score=severity / 5 - 0.1,
                              response_needed=response_needed, pain_probability=pain_probability)]
    if rest:
        start = len(first) + 1
        doc.sentences.append(Sentence(1, start, len(text), rest, p_negative=0.01, sentiment="positive"))
    return doc
