"""The `runs` ledger: a run's outcome commits with its rows, and a run a killed process left open is
closed as crashed by the next run, on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from pipeline.ingest.sources import SourceBatch
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import connect, ensure_schema, runs
from pipeline.warehouse.writes import (
    RunCounts,
    RunOutcome,
    close_abandoned_runs,
    close_run,
    replace_window,
    start_run,
    window_writes,
)
from pipeline.window import Window
from tests.factories import pain_doc

WINDOW = Window(date(2026, 10, 1), date(2026, 10, 1))
DAY = timedelta(hours=24)


def run_row(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(runs.select().where(runs.c.run_id == run_id)).mappings().one())


def test_the_outcome_commits_with_the_rows(warehouse_url) -> None:
    engine = connect(warehouse_url)
    ensure_schema(engine)
    start_run(engine, "r1", "mine-window", WINDOW, ["reviews"])
    assert run_row(engine, "r1")["pid"] == os.getpid()
    docs = [pain_doc("a", WINDOW.start, "배송이 늦어요")]
    writes = window_writes([SourceBatch("reviews", records_read=1)], docs, "r1", "m", PiiMasker(), False)
    counts = RunCounts(records_read=1, feedback_rows=1, sentences=1, pain_points=1)
    replace_window(engine, WINDOW, writes, outcome=RunOutcome("r1", "ok", counts, 1.5, "", "m"))
    row = run_row(engine, "r1")
    assert (row["status"], row["records_read"], row["pain_points"], row["model_version"]) == ("ok", 1, 1, "m")
    assert row["finished_at"] is not None


def test_a_run_of_a_process_that_is_gone_is_closed_as_crashed(warehouse_url) -> None:
    engine = connect(warehouse_url)
    ensure_schema(engine)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    # The row a killed child leaves: its pid, host and process start, status running.
    import socket

    import psutil

    with engine.begin() as conn:
        conn.execute(runs.insert(), [{
            "run_id": "killed", "flow": "mine-window", "started_at": datetime.now(UTC),
            "window_start": WINDOW.start, "window_end": WINDOW.end, "sources": "[]", "status": "running",
            "records_read": 0, "records_loaded": 0, "records_quarantined": 0, "feedback_rows": 0,
            "sentences": 0, "pain_points": 0, "model_version": "", "host": socket.gethostname(),
            "pid": child.pid, "process_started": psutil.Process(child.pid).create_time(),
        }])
    start_run(engine, "alive", "mine-window", WINDOW, [])
    assert close_abandoned_runs(engine, DAY, "next") == []  # the child still runs, and so do we
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert close_abandoned_runs(engine, DAY, "next") == ["killed"]
    row = run_row(engine, "killed")
    assert row["status"] == "crashed" and "closed when run next started" in row["message"]
    assert run_row(engine, "alive")["status"] == "running"


def test_a_run_on_another_host_is_closed_only_once_it_is_old(warehouse_url) -> None:
    engine = connect(warehouse_url)
    ensure_schema(engine)
    for run_id, age in (("recent", timedelta(hours=1)), ("old", timedelta(hours=30))):
        with engine.begin() as conn:
            conn.execute(runs.insert(), [{
                "run_id": run_id, "flow": "mine-window", "started_at": datetime.now(UTC) - age,
                "window_start": WINDOW.start, "window_end": WINDOW.end, "sources": "[]",
                "status": "running", "records_read": 0, "records_loaded": 0, "records_quarantined": 0,
                "feedback_rows": 0, "sentences": 0, "pain_points": 0, "model_version": "",
                "host": "worker-elsewhere", "pid": 1, "process_started": time.time(),
            }])
    assert close_abandoned_runs(engine, DAY, "next") == ["old"]
    assert run_row(engine, "recent")["status"] == "running"


def test_prefect_closing_a_run_keeps_a_recorded_failure(warehouse_url) -> None:
    engine = connect(warehouse_url)
    ensure_schema(engine)
    start_run(engine, "cancelled", "mine-window", WINDOW, [])
    assert close_run(engine, "cancelled", "cancelled", "Cancelled: by the analyst")
    assert run_row(engine, "cancelled")["status"] == "cancelled"
    start_run(engine, "failed", "mine-window", WINDOW, [])
    with engine.begin() as conn:
        conn.execute(text("UPDATE runs SET status = 'failed', message = 'the cause' WHERE run_id = 'failed'"))
    assert not close_run(engine, "failed", "crashed", "Crashed")
    assert run_row(engine, "failed")["message"] == "the cause"
