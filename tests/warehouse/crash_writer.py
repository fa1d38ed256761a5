"""Run as a script by test_crash_safety: rewrites a window with many rows, announcing (by creating a
marker file) the moment its transaction has started inserting, so the test can SIGKILL it mid-write."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

from pipeline.document import Document
from pipeline.ingest.sources import SourceBatch
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse import writes
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.window import Window
from tests.factories import pain_doc

START = date(2026, 10, 1)
DAYS = 5


def documents(count: int, version: str) -> list[Document]:
    return [pain_doc(f"r{i}", START + timedelta(days=i % DAYS), f"{version} 배송이 늦어요 {i}")
            for i in range(count)]


def write(url: str, count: int, version: str) -> None:
    engine = connect(url)
    ensure_schema(engine)
    window = writes.window_writes([SourceBatch("reviews")], documents(count, version), version, "m",
                                  PiiMasker(), False)
    writes.replace_window(engine, Window(START, START + timedelta(days=DAYS - 1)), window)
    engine.dispose()


if __name__ == "__main__":
    url, marker, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    insert = writes.insert_rows

    def announcing_insert(conn, table, rows):
        marker.touch()
        insert(conn, table, rows)

    writes.insert_rows = announcing_insert
    write(url, count, "new")
