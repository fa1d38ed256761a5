"""The warehouse tables BI reads, and the one way sori writes them.

The schema is a contract (docs/warehouse.md): tables are defined once here with SQLAlchemy Core, so
DuckDB (the embedded default) and PostgreSQL get the same columns, and every statement is
parameterised. A window is written by replacing that window's rows for each source inside one
transaction: re-running a window gives the same rows, overlapping windows never duplicate, and a
run that dies mid-write leaves the previous contents in place.
"""

from __future__ import annotations

import atexit
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from pipeline.document import MAX_KEY_LENGTH, Conversation, Document, SurveyResponse, stable_id
from pipeline.ingest.sources import QuarantineRecord, SourceBatch
from pipeline.text.pii.masker import PiiMasker
from pipeline.window import Window

SCHEMA_VERSION = 1
INSERT_CHUNK = 2000

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "feedback", metadata,
    Column("feedback_id", String(20), primary_key=True),
    Column("source", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("source_id", String(MAX_KEY_LENGTH), nullable=False),
    Column("part", String(64), nullable=False),
    Column("conversation_id", String(MAX_KEY_LENGTH)),
    Column("question", Text),
    Column("product", String(MAX_KEY_LENGTH)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record_date", Date, nullable=False, index=True),
    Column("rating", Float),
    Column("nps", Integer),
    Column("language", String(8), nullable=False),
    Column("text_masked", Text, nullable=False),
    Column("text_raw", Text),
    Column("masked_kinds", String(128), nullable=False),
    Column("sentiment", String(16), nullable=False),
    Column("p_negative", Float, nullable=False),
    Column("sentences", Integer, nullable=False),
    Column("pain_points", Integer, nullable=False),
    Column("run_id", String(40), nullable=False),
)

pain_points = Table(
    "pain_points", metadata,
    Column("pain_point_id", String(20), primary_key=True),
    Column("feedback_id", String(20), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record_date", Date, nullable=False, index=True),
    Column("sentence_index", Integer, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("start_char", Integer, nullable=False),
    Column("end_char", Integer, nullable=False),
    Column("sentiment", String(16), nullable=False),
    Column("sentiment_score", Float, nullable=False),
    Column("categories", String(256), nullable=False),
    Column("primary_category", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("topic_id", Integer, nullable=False),
    Column("topic_label", String(256), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("severity_score", Float, nullable=False),
    Column("response_needed", Boolean, nullable=False),
    Column("keywords", Text, nullable=False),
    Column("model_version", String(256), nullable=False),
    Column("run_id", String(40), nullable=False),
    # How sure the tags are; nullable, so rows written before them stay valid.
    Column("pain_probability", Float),
    Column("category_score", Float),
)

pain_point_categories = Table(
    "pain_point_categories", metadata,
    Column("pain_point_id", String(20), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("source", String(64), nullable=False),
    Column("record_date", Date, nullable=False, index=True),
)

conversations = Table(
    "conversations", metadata,
    Column("source", String(64), primary_key=True),
    Column("conversation_id", String(MAX_KEY_LENGTH), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("record_date", Date, nullable=False, index=True),
    Column("turns", Integer, nullable=False),
    Column("customer_turns", Integer, nullable=False),
    Column("bot_turns_before_human", Integer, nullable=False),
    Column("reached_human", Boolean, nullable=False),
    Column("minutes_to_first_human", Float),
    Column("asked_for_human", Boolean, nullable=False),
    Column("run_id", String(40), nullable=False),
)

survey_responses = Table(
    "survey_responses", metadata,
    Column("source", String(64), primary_key=True),
    Column("response_id", String(MAX_KEY_LENGTH), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("record_date", Date, nullable=False, index=True),
    Column("nps", Integer),
    Column("answers", Integer, nullable=False),
    Column("run_id", String(40), nullable=False),
    # The product or store the response is about; nullable, so warehouses made before it gain it.
    Column("product", String(MAX_KEY_LENGTH)),
)

topics = Table(
    "topics", metadata,
    Column("model_version", String(40), primary_key=True),
    Column("topic_id", Integer, primary_key=True),
    Column("label", String(256), nullable=False),
    Column("keywords", Text, nullable=False),
    Column("size", Integer, nullable=False),
    # Lineage across refits; nullable, so rows written before it existed stay valid.
    Column("status", String(16)),
    Column("lineage", Text),
    Column("match_score", Float),
    Column("previous_version", String(40)),
    Column("generated_label", String(256)),
)


@event.listens_for(metadata, "after_create")
def _add_new_columns(target: MetaData, conn: Connection, **_: Any) -> None:
    """create_all never alters a table: add the nullable columns a warehouse made before them lacks."""
    for table in (pain_points, topics, emerging_issues, survey_responses):
        present = set(conn.execute(text(f"SELECT * FROM {table.name} WHERE 1 = 0")).keys())
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


quarantine = Table(
    "quarantine", metadata,
    Column("quarantine_id", String(20), primary_key=True),
    Column("source", String(64), nullable=False, index=True),
    Column("location", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw_masked", Text, nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

emerging_issues = Table(
    "emerging_issues", metadata,
    Column("day", Date, primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expected", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    # The last `window_days` days together; nullable, so rows written before it existed stay valid.
    Column("window_count", Integer),
    Column("window_p_value", Float),
    # Flagged as the continuation of an incident flagged on an earlier day.
    Column("continues", Boolean),
    # The last `trend_days` days but the flagged ones against the baseline before them: rising pain.
    Column("trend_count", Integer),
    Column("trend_expected", Float),
    Column("trend_p_value", Float),
    Column("rising", Boolean),
)

source_state = Table(
    "source_state", metadata,
    Column("source", String(64), primary_key=True),
    Column("watermark", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

alerts = Table(
    "alerts", metadata,
    Column("rule", String(128), primary_key=True),
    Column("pain_point_id", String(20), primary_key=True),
    Column("channel", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("run_id", String(40), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("run_id", String(40), primary_key=True),
    Column("flow", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("sources", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("records_read", Integer, nullable=False),
    Column("records_loaded", Integer, nullable=False),
    Column("records_quarantined", Integer, nullable=False),
    Column("feedback_rows", Integer, nullable=False),
    Column("sentences", Integer, nullable=False),
    Column("pain_points", Integer, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("seconds", Float),
    Column("message", Text),
)


# Tables whose rows belong to a (source, record_date) window and are replaced with it.
WINDOWED_TABLES = (pain_point_categories, pain_points, feedback, conversations, survey_responses)

_PROMOTER = "CASE WHEN nps >= 9 THEN 1 ELSE 0 END"
_DETRACTOR = "CASE WHEN nps <= 6 THEN 1 ELSE 0 END"

# Views BI reads. Portable SQL: the same text runs on DuckDB and PostgreSQL.
VIEWS = {
    "v_pain_points_daily": """
        SELECT p.record_date AS day, c.category, p.touchpoint, p.channel, p.source, f.product, p.topic_id,
               p.topic_label, COUNT(*) AS pain_points,
               SUM(CASE WHEN c.rank = 1 THEN 1 ELSE 0 END) AS as_primary_category,
               CAST(AVG(p.severity_score) AS DOUBLE PRECISION) AS avg_severity_score,
               SUM(CASE WHEN p.severity >= 4 THEN 1 ELSE 0 END) AS severe_pain_points,
               SUM(CASE WHEN p.response_needed THEN 1 ELSE 0 END) AS responses_needed
        FROM pain_points p JOIN pain_point_categories c ON c.pain_point_id = p.pain_point_id
        JOIN feedback f ON f.feedback_id = p.feedback_id
        GROUP BY p.record_date, c.category, p.touchpoint, p.channel, p.source, f.product, p.topic_id,
                 p.topic_label""",
    "v_nps_daily": f"""
        SELECT record_date AS day, channel, source, product, COUNT(*) AS responses,
               SUM({_PROMOTER}) AS promoters,
               SUM(CASE WHEN nps BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,
               SUM({_DETRACTOR}) AS detractors,
               CAST(100.0 * (SUM({_PROMOTER}) - SUM({_DETRACTOR})) / COUNT(*) AS DOUBLE PRECISION) AS nps
        FROM survey_responses WHERE nps IS NOT NULL
        GROUP BY record_date, channel, source, product""",
    "v_nps_impact_by_category": f"""
        WITH responses AS (
            SELECT source, response_id, CAST(date_trunc('month', record_date) AS DATE) AS month,
                   {_PROMOTER} AS promoter, {_DETRACTOR} AS detractor
            FROM survey_responses WHERE nps IS NOT NULL),
        mentions AS (
            SELECT DISTINCT f.source, f.source_id AS response_id, c.category
            FROM pain_point_categories c
            JOIN pain_points p ON p.pain_point_id = c.pain_point_id
            JOIN feedback f ON f.feedback_id = p.feedback_id
            WHERE f.kind = 'survey'),
        totals AS (
            SELECT month, COUNT(*) AS n, SUM(promoter) AS promoters, SUM(detractor) AS detractors
            FROM responses GROUP BY month),
        mentioning AS (
            SELECT r.month, m.category, COUNT(*) AS n, SUM(r.promoter) AS promoters,
                   SUM(r.detractor) AS detractors
            FROM responses r JOIN mentions m ON m.source = r.source AND m.response_id = r.response_id
            GROUP BY r.month, m.category)
        SELECT m.month, m.category, m.n AS responses_mentioning, t.n AS responses,
               CAST(100.0 * (t.promoters - t.detractors) / t.n AS DOUBLE PRECISION) AS nps,
               CAST(CASE WHEN t.n > m.n THEN 100.0 * ((t.promoters - m.promoters)
                    - (t.detractors - m.detractors)) / (t.n - m.n) END AS DOUBLE PRECISION)
                    AS nps_without_category,
               CAST(CASE WHEN t.n > m.n THEN 100.0 * ((t.promoters - m.promoters)
                    - (t.detractors - m.detractors)) / (t.n - m.n)
                    - 100.0 * (t.promoters - t.detractors) / t.n END AS DOUBLE PRECISION) AS nps_impact
        FROM mentioning m JOIN totals t ON t.month = m.month""",
    "v_rating_impact_by_category": """
        WITH reviews AS (
            SELECT feedback_id, source, CAST(date_trunc('month', record_date) AS DATE) AS month, rating
            FROM feedback WHERE kind = 'review' AND rating IS NOT NULL),
        mentions AS (
            SELECT DISTINCT p.feedback_id, c.category
            FROM pain_point_categories c JOIN pain_points p ON p.pain_point_id = c.pain_point_id),
        totals AS (
            SELECT month, source, COUNT(*) AS n, SUM(rating) AS stars FROM reviews GROUP BY month, source),
        mentioning AS (
            SELECT r.month, r.source, m.category, COUNT(*) AS n, SUM(r.rating) AS stars
            FROM reviews r JOIN mentions m ON m.feedback_id = r.feedback_id
            GROUP BY r.month, r.source, m.category)
        SELECT m.month, m.source, m.category, m.n AS reviews_mentioning, t.n AS reviews,
               CAST(t.stars / t.n AS DOUBLE PRECISION) AS avg_rating,
               CAST(m.stars / m.n AS DOUBLE PRECISION) AS avg_rating_mentioning,
               CAST(CASE WHEN t.n > m.n THEN (t.stars - m.stars) / (t.n - m.n) END AS DOUBLE PRECISION)
                    AS avg_rating_without_category,
               CAST(CASE WHEN t.n > m.n THEN (t.stars - m.stars) / (t.n - m.n) - t.stars / t.n END
                    AS DOUBLE PRECISION) AS rating_impact
        FROM mentioning m JOIN totals t ON t.month = m.month AND t.source = m.source""",
    "v_product_pain_monthly": """
        WITH texts AS (
            SELECT feedback_id, source, source_id, product,
                   CAST(date_trunc('month', record_date) AS DATE) AS month, rating, pain_points
            FROM feedback WHERE product IS NOT NULL),
        records AS (
            SELECT month, source, source_id, product, AVG(rating) AS rating,
                   MAX(CASE WHEN pain_points > 0 THEN 1 ELSE 0 END) AS with_pain
            FROM texts GROUP BY month, source, source_id, product
            UNION ALL  -- survey responses without free text: no feedback rows, still responses
            SELECT CAST(date_trunc('month', record_date) AS DATE), source, response_id, product, NULL, 0
            FROM survey_responses WHERE product IS NOT NULL AND answers = 0),
        by_category AS (
            SELECT t.month, t.source, t.product, p.primary_category AS category, COUNT(*) AS n,
                   SUM(CASE WHEN p.severity >= 4 THEN 1 ELSE 0 END) AS severe,
                   SUM(CASE WHEN p.response_needed THEN 1 ELSE 0 END) AS responses_needed
            FROM texts t JOIN pain_points p ON p.feedback_id = t.feedback_id
            GROUP BY t.month, t.source, t.product, p.primary_category),
        pain AS (
            SELECT month, source, product, SUM(n) AS pain_points, SUM(severe) AS severe,
                   SUM(responses_needed) AS responses_needed
            FROM by_category GROUP BY month, source, product),
        ranked AS (
            SELECT month, source, product, category,
                   ROW_NUMBER() OVER (PARTITION BY month, source, product ORDER BY n DESC, category) AS place
            FROM by_category),
        totals AS (
            SELECT month, source, product, COUNT(*) AS records, COUNT(rating) AS rated_records,
                   CAST(AVG(rating) AS DOUBLE PRECISION) AS avg_rating,
                   CAST(SUM(with_pain) AS BIGINT) AS records_with_pain
            FROM records GROUP BY month, source, product)
        SELECT t.month, t.source, t.product, t.records, t.rated_records, t.avg_rating, t.records_with_pain,
               CAST(1.0 * t.records_with_pain / t.records AS DOUBLE PRECISION) AS pain_share,
               CAST(COALESCE(p.pain_points, 0) AS BIGINT) AS pain_points,
               CAST(COALESCE(p.severe, 0) AS BIGINT) AS severe_pain_points,
               CAST(COALESCE(p.responses_needed, 0) AS BIGINT) AS responses_needed, r.category AS top_category
        FROM totals t
        LEFT JOIN pain p ON p.month = t.month AND p.source = t.source AND p.product = t.product
        LEFT JOIN ranked r ON r.month = t.month AND r.source = t.source AND r.product = t.product
                           AND r.place = 1""",
    "v_negative_share_daily": """
        SELECT record_date AS day, source, channel, COUNT(*) AS texts,
               SUM(CASE WHEN sentiment = 'negative' THEN 1 ELSE 0 END) AS negative_texts,
               SUM(CASE WHEN pain_points > 0 THEN 1 ELSE 0 END) AS texts_with_pain,
               CAST(1.0 * SUM(CASE WHEN sentiment = 'negative' THEN 1 ELSE 0 END) / COUNT(*)
                    AS DOUBLE PRECISION) AS negative_share
        FROM feedback GROUP BY record_date, source, channel""",
}


class SchemaError(RuntimeError):
    """The warehouse was written by a newer sori: writing to it could break what BI reads."""


@dataclass
class RunCounts:
    records_read: int = 0
    records_quarantined: int = 0
    feedback_rows: int = 0
    sentences: int = 0
    pain_points: int = 0

    @property
    def records_loaded(self) -> int:
        return self.records_read - self.records_quarantined


@functools.cache
def connect(url: str) -> Engine:
    """One engine (and connection pool) per warehouse URL per process, closed at exit."""
    if url.startswith("duckdb:///") and url != "duckdb:///:memory:":
        Path(url.removeprefix("duckdb:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    atexit.register(engine.dispose)
    return engine


def ensure_schema(engine: Engine) -> None:
    """Create missing tables; refuse a warehouse whose schema is newer than this code."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        found = conn.execute(select(schema_version.c.version)).scalars().all()
        newest = max(found, default=0)
        if newest > SCHEMA_VERSION:
            raise SchemaError(
                f"warehouse schema version {newest} is newer than this sori's {SCHEMA_VERSION}: upgrade sori"
            )
        if newest < SCHEMA_VERSION:
            conn.execute(insert(schema_version), [{"version": SCHEMA_VERSION, "applied_at": _now()}])
        for name, query in VIEWS.items():
            conn.execute(text(f"CREATE OR REPLACE VIEW {name} AS {query}"))


def _now() -> datetime:
    return datetime.now(UTC)


def feedback_rows(docs: Sequence[Document], run_id: str, store_raw_text: bool) -> list[dict[str, Any]]:
    rows = []
    for doc in docs:
        item = doc.item
        rows.append({
            "feedback_id": doc.feedback_id, "source": item.source, "kind": item.kind,
            "channel": item.channel, "source_id": item.source_id, "part": item.part,
            "conversation_id": item.conversation_id, "question": item.question, "product": item.product,
            "created_at": item.created_at, "record_date": item.record_date, "rating": item.rating,
            "nps": item.nps, "language": doc.language, "text_masked": doc.masked_text,
            "text_raw": item.text if store_raw_text else None,
            "masked_kinds": ";".join(doc.masked_kinds), "sentiment": doc.sentiment,
            "p_negative": doc.p_negative, "sentences": len(doc.sentences),
            "pain_points": len(doc.pain_sentences), "run_id": run_id,
        })
    return rows


def pain_point_rows(docs: Sequence[Document], run_id: str, model_version: str) -> list[dict[str, Any]]:
    rows = []
    for doc in docs:
        item = doc.item
        for sentence in doc.pain_sentences:
            rows.append({
                "pain_point_id": doc.pain_point_id(sentence), "feedback_id": doc.feedback_id,
                "source": item.source, "kind": item.kind, "channel": item.channel,
                "created_at": item.created_at, "record_date": item.record_date,
                "sentence_index": sentence.index, "evidence": sentence.text,
                "start_char": sentence.start, "end_char": sentence.end,
                "sentiment": sentence.sentiment, "sentiment_score": sentence.p_negative,
                "categories": ";".join(sentence.categories), "primary_category": sentence.categories[0],
                "touchpoint": sentence.touchpoint, "topic_id": sentence.topic_id,
                "topic_label": sentence.topic_label, "severity": sentence.severity,
                "severity_score": sentence.severity_score, "response_needed": sentence.response_needed,
                "keywords": ";".join(dict.fromkeys(sentence.keywords)), "model_version": model_version,
                "run_id": run_id, "pain_probability": sentence.pain_probability,
                "category_score": sentence.category_score,
            })
    return rows


def category_rows(pain_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bridge table, so BI can count by category without splitting strings."""
    return [
        {"pain_point_id": row["pain_point_id"], "category": category, "rank": rank,
         "source": row["source"], "record_date": row["record_date"]}
        for row in pain_rows
        for rank, category in enumerate(row["categories"].split(";"), start=1)
    ]


def conversation_rows(items: Sequence[Conversation], run_id: str) -> list[dict[str, Any]]:
    return [{**vars(c), "run_id": run_id} for c in items]


def response_rows(items: Sequence[SurveyResponse], channel: str, run_id: str) -> list[dict[str, Any]]:
    return [{**vars(r), "channel": channel, "run_id": run_id} for r in items]


def quarantine_rows(records: Sequence[QuarantineRecord], masker: PiiMasker, run_id: str) -> list[dict]:
    """Quarantined records keep their bytes for inspection, masked like everything else we store."""
    masked = masker.mask_many([r.raw for r in records])
    recorded_at = _now()
    return [
        {"quarantine_id": stable_id(r.source, r.location), "source": r.source, "location": r.location,
         "reason": r.reason, "raw_masked": m.text, "run_id": run_id, "recorded_at": recorded_at}
        for r, m in zip(records, masked, strict=True)
    ]


@dataclass
class WindowWrite:
    """Everything one source produced for one window, or for the records an incremental pull read
    (`record_ids` set: only those records are replaced, and `watermark` is stored with them)."""

    source: str
    feedback: list[dict[str, Any]]
    pain_points: list[dict[str, Any]]
    conversations: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    responses: list[dict[str, Any]] = field(default_factory=list)
    record_ids: list[str] | None = None
    watermark: datetime | None = None


def window_writes(batches: Sequence[SourceBatch], docs: Sequence[Document], run_id: str,
                  model_version: str, masker: PiiMasker, store_raw_text: bool,
                  channels: dict[str, str] | None = None) -> list[WindowWrite]:
    """Rows per source; a source with nothing in the window still clears the window's old rows."""
    writes = []
    for batch in batches:
        source_docs = [doc for doc in docs if doc.item.source == batch.source]
        channel = (channels or {}).get(batch.source, batch.source)
        writes.append(WindowWrite(
            source=batch.source,
            feedback=feedback_rows(source_docs, run_id, store_raw_text),
            pain_points=pain_point_rows(source_docs, run_id, model_version),
            conversations=conversation_rows(batch.conversations, run_id),
            quarantine=quarantine_rows(batch.quarantine, masker, run_id),
            responses=response_rows(batch.responses, channel, run_id),
            record_ids=sorted(batch.record_ids) if batch.incremental else None,
            watermark=batch.watermark,
        ))
    return writes


def _delete_window(conn: Connection, source: str, window: Window) -> None:
    for table in WINDOWED_TABLES:
        conn.execute(delete(table).where(table.c.source == source, table.c.record_date >= window.start,
                                         table.c.record_date <= window.end))


def _delete_records(conn: Connection, source: str, record_ids: Sequence[str]) -> None:
    """Every row of these records, whatever their dates: an edited record replaces its old version."""
    for offset in range(0, len(record_ids), INSERT_CHUNK):
        ids = list(record_ids[offset : offset + INSERT_CHUNK])
        of_records = (feedback.c.source == source, feedback.c.source_id.in_(ids))
        texts = select(feedback.c.feedback_id).where(*of_records)
        points = select(pain_points.c.pain_point_id).where(pain_points.c.feedback_id.in_(texts))
        conn.execute(delete(pain_point_categories).where(pain_point_categories.c.pain_point_id.in_(points)))
        conn.execute(delete(pain_points).where(pain_points.c.feedback_id.in_(texts)))
        conn.execute(delete(feedback).where(*of_records))
        conn.execute(delete(conversations).where(conversations.c.source == source,
                                                 conversations.c.conversation_id.in_(ids)))
        conn.execute(delete(survey_responses).where(survey_responses.c.source == source,
                                                    survey_responses.c.response_id.in_(ids)))


def _advance_watermark(conn: Connection, source: str, new: datetime) -> None:
    """Never backwards: a late or partial pull must not make the next one re-read less."""
    old = conn.execute(select(source_state.c.watermark).where(source_state.c.source == source)).scalar()
    if old is not None and old >= new:
        return
    conn.execute(delete(source_state).where(source_state.c.source == source))
    conn.execute(insert(source_state), [{"source": source, "watermark": new, "updated_at": _now()}])


def replace_window(engine: Engine, window: Window, writes: Sequence[WindowWrite],
                   topic_rows: Sequence[dict[str, Any]] = ()) -> None:
    """One transaction: delete each source's rows in the window (or, for an incremental pull, the rows
    of the records it read), insert the new ones, and advance the source's watermark."""
    with engine.begin() as conn:
        for write in writes:
            if write.record_ids is None:
                _delete_window(conn, write.source, window)
            else:
                _delete_records(conn, write.source, write.record_ids)
            if write.watermark is not None:
                _advance_watermark(conn, write.source, write.watermark)
            if write.quarantine:
                ids = [row["quarantine_id"] for row in write.quarantine]
                conn.execute(delete(quarantine).where(quarantine.c.quarantine_id.in_(ids)))
            insert_rows(conn, feedback, write.feedback)
            insert_rows(conn, pain_points, write.pain_points)
            insert_rows(conn, pain_point_categories, category_rows(write.pain_points))
            insert_rows(conn, conversations, write.conversations)
            insert_rows(conn, survey_responses, write.responses)
            insert_rows(conn, quarantine, write.quarantine)
        if topic_rows:
            versions = {row["model_version"] for row in topic_rows}
            conn.execute(delete(topics).where(topics.c.model_version.in_(versions)))
            insert_rows(conn, topics, list(topic_rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Chunked executemany: bounded statement size on every backend."""
    for offset in range(0, len(rows), INSERT_CHUNK):
        conn.execute(insert(table), list(rows[offset : offset + INSERT_CHUNK]))


def watermark(engine: Engine, source: str) -> datetime | None:
    """The last-modified time up to which the source has been committed."""
    with engine.connect() as conn:
        return conn.execute(select(source_state.c.watermark).where(source_state.c.source == source)).scalar()


def start_run(engine: Engine, run_id: str, flow: str, window: Window, sources: Sequence[str]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(runs), [{
            "run_id": run_id, "flow": flow, "started_at": _now(), "window_start": window.start,
            "window_end": window.end, "sources": json.dumps(list(sources)), "status": "running",
            "records_read": 0, "records_loaded": 0, "records_quarantined": 0, "feedback_rows": 0,
            "sentences": 0, "pain_points": 0, "model_version": "",
        }])


def finish_run(engine: Engine, run_id: str, status: str, counts: RunCounts, seconds: float,
               message: str = "", model_version: str = "") -> None:
    with engine.begin() as conn:
        conn.execute(
            runs.update().where(runs.c.run_id == run_id).values(
                finished_at=_now(), model_version=model_version, status=status,
                records_read=counts.records_read,
                records_loaded=counts.records_loaded, records_quarantined=counts.records_quarantined,
                feedback_rows=counts.feedback_rows, sentences=counts.sentences,
                pain_points=counts.pain_points, seconds=round(seconds, 2), message=message,
            )
        )

