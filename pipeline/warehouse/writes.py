"""The one way sori writes the warehouse: a window's rows, replaced per source in one transaction.

Re-running a window gives the same rows, overlapping windows never duplicate, and a run that dies
mid-write leaves the previous contents in place. Every statement is parameterised.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pyarrow as pa
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from pipeline.document import Conversation, Document, SurveyResponse, stable_id
from pipeline.ingest.sources import QuarantineRecord, SourceBatch
from pipeline.text.pii.masker import PiiMasker
from pipeline.text.pii.records import mask_raw_records
from pipeline.warehouse.schema import (
    WINDOWED_TABLES,
    conversations,
    feedback,
    pain_point_categories,
    pain_points,
    quarantine,
    runs,
    source_state,
    survey_responses,
    topics,
)
from pipeline.window import Window

INSERT_CHUNK = 2000


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

    @classmethod
    def total(cls, counts: Iterable[RunCounts]) -> RunCounts:
        """Several runs' counts added up, as a backfill reconciles its chunks."""
        names = [f.name for f in fields(cls)]
        counts = list(counts)
        return cls(**{name: sum(getattr(c, name) for c in counts) for name in names})



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
            "characters_cut": doc.characters_cut, "sentences_cut": doc.sentences_cut,
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
    """Quarantined records keep their content for inspection, masked like everything else we store: every
    column they kept, mapped or not, and the reason, which may quote a field."""
    masked = mask_raw_records(masker, [r.raw for r in records], [r.reason for r in records])
    recorded_at = _now()
    return [
        {"quarantine_id": stable_id(r.source, r.location), "source": r.source, "location": r.location,
         "reason": reason, "raw_masked": raw, "run_id": run_id, "recorded_at": recorded_at}
        for r, (raw, reason) in zip(records, masked, strict=True)
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
                   topic_rows: Sequence[dict[str, Any]] = (), outcome: RunOutcome | None = None) -> None:
    """One transaction: delete each source's rows in the window (or, for an incremental pull, the rows
    of the records it read), insert the new ones, advance the source's watermark and record the run's
    outcome, so a run killed at any point leaves its rows and its `runs` row agreeing."""
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
        if outcome is not None:
            _record_outcome(conn, outcome)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """The rows inserted in the connection's transaction. On DuckDB they go in as one Arrow table: a
    parameterised INSERT runs there once per row, and a window write that takes that long keeps every
    other process (a BI reader, a second run) out of the file. Elsewhere, chunked executemany: bounded
    statement size on every backend."""
    if not rows:
        return
    if conn.dialect.name == "duckdb":
        _insert_arrow(conn, table, rows)
        return
    for offset in range(0, len(rows), INSERT_CHUNK):
        conn.execute(insert(table), list(rows[offset : offset + INSERT_CHUNK]))


def _arrow_type(column: Column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC" if kind.timezone else None)
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, String):  # Text too
        return pa.string()
    raise TypeError(f"{column.table.name}.{column.name}: no Arrow type for {kind!r}")


def _insert_arrow(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT … SELECT from the rows as an Arrow table registered on the DuckDB connection; the columns
    the rows name (others stay NULL, as with executemany), typed by the table's definition. No value
    enters the SQL text."""
    columns = [column for column in table.columns if column.name in rows[0]]
    schema = pa.schema([(column.name, _arrow_type(column)) for column in columns])
    data = pa.Table.from_pylist([{column.name: row[column.name] for column in columns} for row in rows],
                                schema=schema)
    names = ", ".join(column.name for column in columns)
    relation = f"sori_insert_{table.name}"
    duckdb_connection = conn.connection.dbapi_connection
    duckdb_connection.register(relation, data)
    try:
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {relation}")
    finally:
        duckdb_connection.unregister(relation)


def watermark(engine: Engine, source: str) -> datetime | None:
    """The last-modified time up to which the source has been committed."""
    with engine.connect() as conn:
        return conn.execute(select(source_state.c.watermark).where(source_state.c.source == source)).scalar()


@dataclass
class RunOutcome:
    """How a run ended, recorded in the `runs` row in the transaction that writes its rows."""

    run_id: str
    status: str  # ok | warning | failed
    counts: RunCounts
    seconds: float
    message: str = ""
    model_version: str = ""


def _this_process() -> dict[str, Any]:
    process = psutil.Process()
    return {"host": socket.gethostname(), "pid": process.pid, "process_started": process.create_time()}


def start_run(engine: Engine, run_id: str, flow: str, window: Window, sources: Sequence[str]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(runs), [{
            "run_id": run_id, "flow": flow, "started_at": _now(), "window_start": window.start,
            "window_end": window.end, "sources": json.dumps(list(sources)), "status": "running",
            "records_read": 0, "records_loaded": 0, "records_quarantined": 0, "feedback_rows": 0,
            "sentences": 0, "pain_points": 0, "model_version": "", **_this_process(),
        }])


def _record_outcome(conn: Connection, outcome: RunOutcome) -> None:
    counts = outcome.counts
    conn.execute(
        runs.update().where(runs.c.run_id == outcome.run_id).values(
            finished_at=_now(), model_version=outcome.model_version, status=outcome.status,
            records_read=counts.records_read, records_loaded=counts.records_loaded,
            records_quarantined=counts.records_quarantined, feedback_rows=counts.feedback_rows,
            sentences=counts.sentences, pain_points=counts.pain_points, seconds=round(outcome.seconds, 2),
            message=outcome.message,
        )
    )


def finish_run(engine: Engine, outcome: RunOutcome) -> None:
    """Records how a run ended that wrote no window (it failed before or while writing)."""
    with engine.begin() as conn:
        _record_outcome(conn, outcome)


def record_seconds(engine: Engine, run_id: str, seconds: float) -> None:
    """The run's whole time, once its story is told after the window was written."""
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.run_id == run_id).values(seconds=round(seconds, 2)))


def close_run(engine: Engine, run_id: str, status: str, message: str) -> bool:
    """Marks a run that ended outside sori's own bookkeeping (Prefect says it failed, was cancelled or
    crashed) unless it was already recorded as failed; False when there is no such open run."""
    with engine.begin() as conn:
        current = conn.execute(select(runs.c.status).where(runs.c.run_id == run_id)).scalar()
        if current in (None, "failed"):
            return False
        conn.execute(runs.update().where(runs.c.run_id == run_id)
                     .values(status=status, finished_at=_now(), message=message))
    return True


def close_abandoned_runs(engine: Engine, abandoned_after: timedelta, closing_run: str) -> list[str]:
    """Closes as `crashed` the runs left `running` by a process that is gone: one on this host whose
    process no longer exists (or is another process with the same pid), one on another host (or from
    before sori recorded hosts) once it started more than `abandoned_after` ago. Returns their ids."""
    here, now = _this_process(), _now()
    with engine.begin() as conn:
        rows = conn.execute(select(runs.c.run_id, runs.c.host, runs.c.pid, runs.c.process_started,
                                   runs.c.started_at).where(runs.c.status == "running")).all()
        gone = [row for row in rows if row.run_id != closing_run and not _may_be_alive(row, here, now,
                                                                                        abandoned_after)]
        for row in gone:
            where = f"process {row.pid} on {row.host}" if row.host else "its process"
            conn.execute(runs.update().where(runs.c.run_id == row.run_id, runs.c.status == "running").values(
                status="crashed", finished_at=now,
                message=f"{where} ended without finishing; closed when run {closing_run} started"))
    return [row.run_id for row in gone]


def _may_be_alive(row: Any, here: dict[str, Any], now: datetime, abandoned_after: timedelta) -> bool:
    if row.host == here["host"] and row.pid is not None:
        try:
            return abs(psutil.Process(row.pid).create_time() - (row.process_started or 0.0)) < 1.0
        except psutil.Error:
            return False
    started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
    return now - started < abandoned_after
