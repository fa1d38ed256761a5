"""Two runs and a BI reader on one warehouse at once, in real processes: both runs' windows land
exactly once, the reader is never refused for long, and a run that cannot get a DuckDB file says why."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy.pool import NullPool

from models.evaluation.bench_warehouse import run_together
from pipeline.config import WarehouseConfig
from pipeline.warehouse.schema import WarehouseLocked, connect, ensure_schema

# Opens the DuckDB file at argv[1] read-write, says so, holds it argv[2] seconds: a BI tool left open.
HOLD_FILE = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
             "time.sleep(float(sys.argv[2])); c.close()")


def hold(path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.slow
def test_two_runs_and_a_reader_share_the_warehouse(warehouse_url, tmp_path, record_property):
    warehouse = WarehouseConfig(lock_wait_seconds=60)
    outcome = run_together(warehouse_url, ["reviews", "app_reviews"], window_count=2, texts=200,
                           compute_seconds=0.5, hold_seconds=0.5, pause_seconds=0.2, warehouse=warehouse,
                           workdir=tmp_path)

    assert [w.windows_written for w in outcome.writers] == [2, 2]
    assert outcome.rows_exactly_once
    assert outcome.runs_ok == 4
    record_property("reader", outcome.reader)
    assert outcome.reader.queries >= 2
    # Refused only while a run's window write holds the file (both runs' writes back to back at worst).
    assert outcome.reader.longest_refused_seconds < 10
    if warehouse_url.startswith("postgresql"):
        assert outcome.reader.refused == 0
        assert not isinstance(connect(warehouse_url).pool, NullPool)


def test_the_engine_lets_go_of_the_file_between_uses(tmp_path):
    path = tmp_path / "sori.duckdb"
    engine = connect(f"duckdb:///{path}", 0.5, 0.1)
    ensure_schema(engine)
    # The engine is alive and has been used; another process opens the file read-write at once.
    subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()",
                    str(path)], check=True)


def test_a_run_waits_for_a_file_held_briefly(tmp_path):
    path = tmp_path / "sori.duckdb"
    engine = connect(f"duckdb:///{path}", 30, 0.1)
    ensure_schema(engine)
    holder = hold(path, 1.5)
    began = time.monotonic()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0
    assert time.monotonic() - began >= 0.5
    assert holder.wait(timeout=30) == 0


def test_a_run_gives_up_on_a_held_file_with_a_clear_error(tmp_path):
    path = tmp_path / "sori.duckdb"
    engine = connect(f"duckdb:///{path}", 0.5, 0.1)
    ensure_schema(engine)
    holder = hold(path, 60)
    try:
        began = time.monotonic()
        with pytest.raises(WarehouseLocked) as caught, engine.connect():
            pass
        waited = time.monotonic() - began
    finally:
        holder.kill()
        holder.wait()
    assert 0.5 <= waited < 10
    message = str(caught.value)
    for part in (str(path), "0.5 s", "warehouse.lock_wait_seconds", "read-only", "Reading while sori writes",
                 f"PID {holder.pid}"):
        assert part in message
