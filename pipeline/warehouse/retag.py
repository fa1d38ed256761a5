"""Re-mine history from the warehouse itself, so a changed taxonomy (or model) applies to past
feedback too and trends stay comparable, even when the sources no longer hold that history.

The stored text is the masked one (unless raw text is kept); masking and normalising it again
changes nothing, so the re-mined rows keep their ids and offsets.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, delete, select

from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.warehouse.schema import conversations, feedback, pain_point_categories, pain_points
from pipeline.warehouse.writes import category_rows, feedback_rows, insert_rows, pain_point_rows
from pipeline.window import Window

_ITEM_FIELDS = ("source", "kind", "channel", "source_id", "created_at", "record_date", "part", "rating",
                "nps", "question", "product", "conversation_id")


def stored_items(engine: Engine, window: Window,
                 sources: Sequence[str] | None = None) -> tuple[list[FeedbackItem], list[Conversation]]:
    """The window's mined texts and chat facts as the pipeline's inputs, in a stable order."""
    text_filter = [feedback.c.record_date >= window.start, feedback.c.record_date <= window.end]
    chat_filter = [conversations.c.record_date >= window.start, conversations.c.record_date <= window.end]
    if sources:
        text_filter.append(feedback.c.source.in_(list(sources)))
        chat_filter.append(conversations.c.source.in_(list(sources)))
    with engine.connect() as conn:
        rows = conn.execute(select(feedback).where(*text_filter).order_by(feedback.c.feedback_id)).mappings()
        items = [
            FeedbackItem(text=row["text_raw"] or row["text_masked"],
                         location=f"feedback#{row['feedback_id']}",
                         **{name: row[name] for name in _ITEM_FIELDS})
            for row in rows
        ]
        chats = [
            Conversation(**{k: v for k, v in row.items() if k != "run_id"})
            for row in conn.execute(select(conversations).where(*chat_filter)).mappings()
        ]
    return items, chats


def replace_mined(engine: Engine, docs: Sequence[Document], run_id: str, model_version: str,
                  store_raw_text: bool) -> int:
    """Swap the mined rows (texts, pain points, categories) of these documents in one transaction;
    returns the number of pain points written."""
    ids = [doc.feedback_id for doc in docs]
    texts = feedback_rows(docs, run_id, store_raw_text)
    pains = pain_point_rows(docs, run_id, model_version)
    with engine.begin() as conn:
        for offset in range(0, len(ids), 1000):
            chunk = ids[offset : offset + 1000]
            points = select(pain_points.c.pain_point_id).where(pain_points.c.feedback_id.in_(chunk))
            conn.execute(delete(pain_point_categories).where(pain_point_categories.c.pain_point_id.in_(points)))
            conn.execute(delete(pain_points).where(pain_points.c.feedback_id.in_(chunk)))
            conn.execute(delete(feedback).where(feedback.c.feedback_id.in_(chunk)))
        insert_rows(conn, feedback, texts)
        insert_rows(conn, pain_points, pains)
        insert_rows(conn, pain_point_categories, category_rows(pains))
    return len(pains)
