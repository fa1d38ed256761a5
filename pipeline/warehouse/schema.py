"""The warehouse tables and views BI reads, defined once with SQLAlchemy Core.

The schema is a contract (docs/warehouse.md): DuckDB (the embedded default) and PostgreSQL get the
same columns, and a warehouse written by a newer sori is refused rather than written.
"""

from __future__ import annotations

import atexit
import functools
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.pool import NullPool

from pipeline.config import WarehouseConfig
from pipeline.document import MAX_KEY_LENGTH

SCHEMA_VERSION = 1

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
    # What the per-text limits left unread (config `limits:`): 0 for nearly every text.
    Column("characters_cut", Integer),
    Column("sentences_cut", Integer),
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
    for table in (feedback, pain_points, topics, emerging_issues, survey_responses, runs):
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
    # The process that runs it, so the next run can tell a killed run from a live one.
    Column("host", String(255)),
    Column("pid", Integer),
    Column("process_started", Double),  # seconds since the epoch: FLOAT is too coarse on DuckDB
)


# Tables whose rows belong to a (source, record_date) window and are replaced with it.
WINDOWED_TABLES = (pain_point_categories, pain_points, feedback, conversations, survey_responses)

_PROMOTER = "CASE WHEN nps >= 9 THEN 1 ELSE 0 END"
_DETRACTOR = "CASE WHEN nps <= 6 THEN 1 ELSE 0 END"

# Where a monthly view's base rows can be cut at a day (`monthly_through`).
_THROUGH = "/* through */"

# Views BI reads. Portable SQL: the same text runs on DuckDB and PostgreSQL.
_VIEW_QUERIES = {
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
            FROM survey_responses WHERE nps IS NOT NULL {_THROUGH}),
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
            FROM feedback WHERE kind = 'review' AND rating IS NOT NULL /* through */),
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
            FROM feedback WHERE product IS NOT NULL /* through */),
        records AS (
            SELECT month, source, source_id, product, AVG(rating) AS rating,
                   MAX(CASE WHEN pain_points > 0 THEN 1 ELSE 0 END) AS with_pain
            FROM texts GROUP BY month, source, source_id, product
            UNION ALL  -- survey responses without free text: no feedback rows, still responses
            SELECT CAST(date_trunc('month', record_date) AS DATE), source, response_id, product, NULL, 0
            FROM survey_responses WHERE product IS NOT NULL AND answers = 0 /* through */),
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
VIEWS = {name: query.replace(_THROUGH, "") for name, query in _VIEW_QUERIES.items()}
MONTHLY_VIEWS = ("v_nps_impact_by_category", "v_rating_impact_by_category", "v_product_pain_monthly")


def monthly_through(name: str) -> str:
    """The query of the monthly view `name` over the records dated up to the bound parameter `through`:
    a month the window ends in is told "so far", to the window's last day, not with what a later run
    has already written after it."""
    if name not in MONTHLY_VIEWS:
        raise KeyError(f"{name} is not a monthly view; monthly views: {', '.join(MONTHLY_VIEWS)}")
    return _VIEW_QUERIES[name].replace(_THROUGH, "AND record_date <= :through")


class SchemaError(RuntimeError):
    """The warehouse was written by a newer sori: writing to it could break what BI reads."""


class WarehouseLocked(RuntimeError):
    """Another process kept the DuckDB warehouse file open for longer than sori waits for it."""


_WAREHOUSE_DEFAULTS = WarehouseConfig()
DUCKDB_LOCK_CONFLICT = "Could not set lock on file"  # what DuckDB says when another process holds it


def duckdb_file(url: str) -> Path | None:
    """The file of an embedded DuckDB URL; None for an in-memory DuckDB or another database."""
    if url.startswith("duckdb:///") and url != "duckdb:///:memory:":
        return Path(url.removeprefix("duckdb:///").split("?", 1)[0])
    return None


@functools.cache
def connect(url: str, lock_wait_seconds: float = _WAREHOUSE_DEFAULTS.lock_wait_seconds,
            lock_poll_seconds: float = _WAREHOUSE_DEFAULTS.lock_poll_seconds) -> Engine:
    """One engine per warehouse URL per process, disposed at exit; the lock settings default to the
    config's defaults (the application passes the configured ones).

    A DuckDB file admits one process at a time, so sori must not keep it open while it classifies: its
    engine keeps no connection between uses (NullPool), so the file is held only for each short
    transaction, and opening it waits for another process's lock (a second run, a BI tool) with
    backoff, at most `lock_poll_seconds` between tries, before failing with `WarehouseLocked` after
    `lock_wait_seconds`. Other databases serve many clients and keep SQLAlchemy's normal pool.
    """
    path = duckdb_file(url)
    if path is None:
        engine = create_engine(url)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool)
        event.listen(engine, "do_connect", functools.partial(
            _open_waiting_for_lock, path=path, wait=lock_wait_seconds, poll=lock_poll_seconds))
    atexit.register(engine.dispose)
    return engine


def _open_waiting_for_lock(dialect: Dialect, connection_record: Any, cargs: tuple, cparams: dict, *,
                           path: Path, wait: float, poll: float) -> Any:
    """The DuckDB connection, once no other process holds a conflicting lock on the file; the pause
    between tries doubles up to `poll`, with jitter so that two waiting runs do not try in step."""
    import duckdb

    deadline = time.monotonic() + wait
    pause = poll / 16
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if DUCKDB_LOCK_CONFLICT not in str(exc):
                raise
            if left <= 0:
                raise WarehouseLocked(
                    f"the DuckDB warehouse {path} stayed locked by another process for the {wait:g} s sori "
                    f"waits (warehouse.lock_wait_seconds). DuckDB says: {exc}. sori opens the file only "
                    "for short transactions; a BI tool, notebook or `duckdb` shell that keeps it open "
                    "read-write (or read-only, for as long) blocks every run: close it, or have it connect "
                    "read-only and close each connection after its queries (docs/warehouse.md, "
                    "'Reading while sori writes'); or point sori at PostgreSQL (SORI_WAREHOUSE_URL)."
                ) from exc
        time.sleep(min(left, pause * random.uniform(0.5, 1.0)))
        pause = min(2 * pause, poll)


def _now() -> datetime:
    return datetime.now(UTC)


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


