"""Reads and small updates the application needs besides writing a window: completed backfill
chunks, and the pain sentences a topic refit fits on and re-assigns."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from pipeline.warehouse.schema import pain_points, runs, topics
from pipeline.warehouse.writes import RunCounts
from pipeline.window import Window

COUNTS = [f.name for f in dataclasses.fields(RunCounts)]  # also columns of the runs table


def completed_windows(engine: Engine, sources: Sequence[str]) -> dict[Window, RunCounts]:
    """Windows that already have a finished mining run covering every requested source, with the counts of
    the latest such run (what it read of its sources), so a whole backfill window still reconciles."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(runs.c.window_start, runs.c.window_end, runs.c.sources, *(runs.c[name] for name in COUNTS))
            .where(runs.c.flow == "mine-window", runs.c.status.in_(["ok", "warning"]))
            .order_by(runs.c.finished_at)
        ).all()
    return {Window(row.window_start, row.window_end): RunCounts(**{n: row._mapping[n] for n in COUNTS})
            for row in rows if set(sources) <= set(json.loads(row.sources))}


def pain_evidence(engine: Engine, window: Window) -> list[tuple[str, str]]:
    """(pain_point_id, evidence) of the window's pain points, in id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(pain_points.c.pain_point_id, pain_points.c.evidence)
            .where(pain_points.c.record_date >= window.start, pain_points.c.record_date <= window.end)
            .order_by(pain_points.c.pain_point_id)
        ).all()
    return [(pid, evidence) for pid, evidence in rows]


def replace_topics(engine: Engine, assigned: Sequence[tuple[str, int, str]], version: str,
                   topic_rows: Sequence[dict[str, object]]) -> None:
    """In one transaction: each pain point's (id, topic id, label), and the `topics` rows of `version`."""
    with engine.begin() as conn:
        conn.execute(
            update(pain_points).where(pain_points.c.pain_point_id == bindparam("pid")).values(
                topic_id=bindparam("tid"), topic_label=bindparam("label")),
            [{"pid": pid, "tid": tid, "label": label} for pid, tid, label in assigned],
        )
        conn.execute(delete(topics).where(topics.c.model_version == version))
        conn.execute(insert(topics), list(topic_rows))
