"""A writer killed with SIGKILL mid-transaction leaves the previous window intact (both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.warehouse.crash_writer import write

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def contents(url: str) -> tuple[int, set[str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM feedback")).scalar()
        runs = set(conn.execute(text("SELECT DISTINCT run_id FROM feedback")).scalars())
    engine.dispose()
    return count, runs


def test_sigkill_during_a_window_write_keeps_the_previous_contents(warehouse_url, tmp_path):
    write(warehouse_url, 200, "old")
    assert contents(warehouse_url) == (200, {"old"})

    marker = tmp_path / "inserting"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = REPO / "tests" / "warehouse" / "crash_writer.py"
    writer = subprocess.Popen([sys.executable, str(script), warehouse_url,
                               str(marker), "60000"], env=env, cwd=REPO)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert writer.poll() is None, "the writer finished before it could be killed"
        assert time.monotonic() < deadline, "the writer never started inserting"
        time.sleep(0.05)
    time.sleep(0.3)
    assert writer.poll() is None, "the writer finished before it could be killed: give it more rows"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL

    assert contents(warehouse_url) == (200, {"old"})
    write(warehouse_url, 300, "again")
    assert contents(warehouse_url) == (300, {"again"})
