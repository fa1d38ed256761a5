"""Two sori runs and a BI reader on one warehouse at once: do both runs' windows land, and how long is
the reader refused?

    python -m models.evaluation.bench_warehouse [--backend duckdb|postgresql|both]
        [--postgres-url URL] [--windows 6] [--texts 2000] [--compute-seconds 2]
        [--hold-seconds 2] [--pause-seconds 0.5] [--sori-runs]

Each run is a process that does what a mine-window run does to the warehouse, window after window:
record the run as started, compute with the warehouse closed (a sleep stands in for classification),
then replace the window's rows and record the outcome in one transaction, with sori's own write
functions and engine. The two runs write different sources over the same dates. A third process reads
as a BI tool should: open (a DuckDB file read-only), query a view, hold the connection, close, pause,
again, until both runs are done; a refused open is tried again 50 ms later. Printed per backend: each
run's outcome, whether every row is there exactly once, and the reader's queries answered, refused
opens, and longest refused stretch. `--sori-runs` starts real `sori run` processes (models, Prefect)
over days of the bundled sample instead, into a DuckDB file, with the same reader.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from models.evaluation.bench_runners import RUNNERS, write_config
from pipeline.config import WarehouseConfig
from pipeline.document import Document, FeedbackItem, Sentence
from pipeline.ingest.sources import SourceBatch
from pipeline.text.pii.masker import PiiMasker
from pipeline.warehouse.schema import (
    DUCKDB_LOCK_CONFLICT,
    connect,
    duckdb_file,
    ensure_schema,
    feedback,
    pain_points,
    runs,
)
from pipeline.warehouse.writes import RunCounts, RunOutcome, replace_window, start_run, window_writes
from pipeline.window import Window

SEOUL = ZoneInfo("Asia/Seoul")
FIRST_DAY = date(2026, 8, 1)
WINDOW_DAYS = 7
RETRY_REFUSED_SECONDS = 0.05
READER_QUERY = "SELECT count(*) FROM v_negative_share_daily"
SORI_RUN_DAYS = (date(2026, 10, 21), date(2026, 10, 22))


def windows(count: int) -> list[Window]:
    """Consecutive week-long windows from FIRST_DAY, as a backfill chunks its window."""
    return [Window(FIRST_DAY + timedelta(days=WINDOW_DAYS * i),
                   FIRST_DAY + timedelta(days=WINDOW_DAYS * i + WINDOW_DAYS - 1)) for i in range(count)]


def documents(source: str, window: Window, texts: int) -> list[Document]:
    """`texts` mined reviews spread over the window's days, each a pain sentence and a praise sentence,
    as the pipeline leaves them (no models)."""
    days = (window.end - window.start).days + 1
    docs = []
    for i in range(texts):
        day = window.start + timedelta(days=i % days)
        pain, praise = f"{i}번째 주문 배송이 너무 늦어요.", "포장은 좋아요"
        body = f"{pain} {praise}"
        item = FeedbackItem(source=source, kind="review", channel=source, source_id=f"{day}-{i}",
                            created_at=datetime(day.year, day.month, day.day, 12, tzinfo=SEOUL),
                            record_date=day, text=body, rating=2.0)
        doc = Document(item=item, text=body, masked_text=body, sentiment="negative", p_negative=0.9)
        doc.sentences = [
            Sentence(0, 0, len(pain), pain, keywords=["배송"], p_negative=0.9, is_pain=True,
                     sentiment="negative", categories=["delivery", "waiting"], touchpoint="delivery",
                     topic_id=-1, topic_label="미분류", severity=4, severity_score=0.7),
            Sentence(1, len(pain) + 1, len(body), praise, p_negative=0.01, sentiment="positive"),
        ]
        docs.append(doc)
    return docs


@dataclass
class WriterReport:
    source: str
    windows_written: int
    seconds: float
    longest_write_seconds: float


def write_windows(url: str, source: str, window_count: int, texts: int, compute_seconds: float,
                  lock_wait_seconds: float, lock_poll_seconds: float) -> WriterReport:
    """One run's warehouse traffic, window after window (a process body: its engine is its own)."""
    began = time.perf_counter()
    engine = connect(url, lock_wait_seconds, lock_poll_seconds)
    ensure_schema(engine)
    longest = 0.0
    for window in windows(window_count):
        run_id = f"{source}-{window.start}"
        start_run(engine, run_id, "bench", window, [source])
        docs = documents(source, window, texts)
        time.sleep(compute_seconds)
        writes = window_writes([SourceBatch(source)], docs, run_id, "bench", PiiMasker(), False)
        counts = RunCounts(records_read=texts, feedback_rows=texts, sentences=2 * texts, pain_points=texts)
        writing = time.perf_counter()
        replace_window(engine, window, writes, (), RunOutcome(run_id, "ok", counts, writing - began))
        longest = max(longest, time.perf_counter() - writing)
    engine.dispose()
    return WriterReport(source, window_count, round(time.perf_counter() - began, 2), round(longest, 2))


@dataclass
class ReaderReport:
    queries: int
    refused: int
    longest_refused_seconds: float


def read_while(url: str, stop: str, hold_seconds: float, pause_seconds: float) -> ReaderReport:
    """A BI tool's loop until the file `stop` exists: open, query, hold, close, pause. A DuckDB file is
    opened read-only and a refused open (another process holds the lock) tried again; any other error
    ends the loop with it."""
    import duckdb

    path = duckdb_file(url)
    engine = None if path else create_engine(url, poolclass=NullPool)
    queries = refused = 0
    longest = 0.0
    refused_since: float | None = None
    while not Path(stop).exists():
        try:
            connection = duckdb.connect(str(path), read_only=True) if path else engine.connect()
        except duckdb.IOException as exc:
            if DUCKDB_LOCK_CONFLICT not in str(exc):
                raise
            refused += 1
            refused_since = refused_since or time.monotonic()
            time.sleep(RETRY_REFUSED_SECONDS)
            continue
        if refused_since is not None:
            longest = max(longest, time.monotonic() - refused_since)
            refused_since = None
        try:
            connection.execute(text(READER_QUERY) if engine else READER_QUERY).fetchall()
            queries += 1
            time.sleep(hold_seconds)
        finally:
            connection.close()
        time.sleep(pause_seconds)
    if engine is not None:
        engine.dispose()
    return ReaderReport(queries, refused, round(longest, 2))


@dataclass
class Outcome:
    writers: list[WriterReport]
    reader: ReaderReport
    rows_exactly_once: bool
    runs_ok: int


def run_together(url: str, sources: Sequence[str], window_count: int, texts: int, compute_seconds: float,
                 hold_seconds: float, pause_seconds: float, warehouse: WarehouseConfig,
                 workdir: Path) -> Outcome:
    """Runs for `sources` started together in their own processes with a reader looping beside them;
    raises what a run raised. The schema is made first, so the reader has tables to read from the
    start."""
    engine = connect(url, warehouse.lock_wait_seconds, warehouse.lock_poll_seconds)
    ensure_schema(engine)
    stop = workdir / "writers-done"
    stop.unlink(missing_ok=True)
    with ProcessPoolExecutor(len(sources) + 1, mp_context=get_context("spawn")) as pool:
        reader = pool.submit(read_while, url, str(stop), hold_seconds, pause_seconds)
        started = [pool.submit(write_windows, url, source, window_count, texts, compute_seconds,
                               warehouse.lock_wait_seconds, warehouse.lock_poll_seconds)
                   for source in sources]
        try:
            writers = [run.result() for run in started]
        finally:
            stop.touch()
        read = reader.result()
    with engine.connect() as conn:
        counts = {(table.name, source): n for table in (feedback, pain_points) for source, n in conn.execute(
            select(table.c.source, func.count()).group_by(table.c.source)).all()}
        ok = conn.execute(select(func.count()).select_from(runs).where(runs.c.status == "ok")).scalar()
    expected = window_count * texts  # one text, one pain point
    exactly_once = all(counts.get((table, source)) == expected for table in ("feedback", "pain_points")
                       for source in sources)
    engine.dispose()
    return Outcome(writers, read, exactly_once, ok)


def sori_run(config: Path, day: date) -> tuple[str, int, float, str]:
    """One `sori run` process for the day: (day, exit status, wall seconds, the end of its stderr when it
    failed)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "--config", str(config), "run", "--start",
                           day.isoformat(), "--end", day.isoformat()], capture_output=True, text=True)
    return (day.isoformat(), done.returncode, round(time.perf_counter() - began, 1),
            done.stderr[-2000:] if done.returncode else "")


def sori_runs_together(days: Sequence[date], hold_seconds: float, pause_seconds: float,
                       workdir: Path) -> tuple[list[tuple[str, int, float, str]], ReaderReport, list[tuple]]:
    """Real `sori run` processes over the bundled sample into one DuckDB file, one per day, started
    together with the reader looping beside them, after a warm-up run of the day before that fits the
    topic model they then share. Returns the runs, the reader's report and the `runs` rows."""
    config = write_config(workdir, RUNNERS["threads"], workdir / "topic_model")
    warm_up = sori_run(config, days[0] - timedelta(days=1))
    if warm_up[1]:
        raise RuntimeError(f"the warm-up run failed: {warm_up[3]}")
    url = f"duckdb:///{workdir / 'sori.duckdb'}"
    stop = workdir / "runs-done"
    with ProcessPoolExecutor(len(days) + 1, mp_context=get_context("spawn")) as pool:
        reader = pool.submit(read_while, url, str(stop), hold_seconds, pause_seconds)
        started = [pool.submit(sori_run, config, day) for day in days]
        try:
            results = [run.result() for run in started]
        finally:
            stop.touch()
        read = reader.result()
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        recorded = conn.execute(select(runs.c.window_start, runs.c.status, runs.c.records_read,
                                       runs.c.feedback_rows, runs.c.pain_points)
                                .where(runs.c.window_start.in_(list(days))).order_by(runs.c.window_start)).all()
    engine.dispose()
    return results, read, [tuple(row) for row in recorded]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["duckdb", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-admin-url", default=os.environ.get(
        "SORI_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server where the bench may create (and then drop) its own database")
    parser.add_argument("--windows", type=int, default=6, help="week-long windows per run")
    parser.add_argument("--texts", type=int, default=2000, help="texts per window")
    parser.add_argument("--compute-seconds", type=float, default=2.0,
                        help="the classification stand-in before each window's write")
    parser.add_argument("--hold-seconds", type=float, default=2.0, help="how long the reader holds each open")
    parser.add_argument("--pause-seconds", type=float, default=0.5, help="the reader's pause between opens")
    parser.add_argument("--sori-runs", action="store_true",
                        help="instead: real `sori run` processes over the bundled sample, one per day of "
                             f"{', '.join(str(d) for d in SORI_RUN_DAYS)}, into a DuckDB file (minutes)")
    args = parser.parse_args(argv)

    if args.sori_runs:
        with tempfile.TemporaryDirectory(prefix="sori-bench-warehouse-") as tmp:
            results, read, recorded = sori_runs_together(SORI_RUN_DAYS, args.hold_seconds, args.pause_seconds,
                                                         Path(tmp))
        print(f"`sori run` processes started together, DuckDB; a reader holding each open "
              f"{args.hold_seconds:g} s, pausing {args.pause_seconds:g} s")
        for day, status, seconds, error in results:
            print(f"  run {day}: exit status {status} in {seconds:g} s{': ' + error if error else ''}")
        print(f"  runs table (window, status, records read, feedback rows, pain points): {recorded}")
        print(f"  reader: {asdict(read)}")
        return 0

    warehouse = WarehouseConfig()
    sources = ["reviews", "app_reviews"]
    backends = ["duckdb", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"two runs ({', '.join(sources)}) of {args.windows} windows × {args.texts:,} texts, "
          f"{args.compute_seconds:g} s of compute before each write; a reader holding each open "
          f"{args.hold_seconds:g} s, pausing {args.pause_seconds:g} s; lock wait "
          f"{warehouse.lock_wait_seconds:g} s, polled at most {warehouse.lock_poll_seconds:g} s apart")
    with tempfile.TemporaryDirectory(prefix="sori-bench-warehouse-") as tmp:
        for backend in backends:
            with warehouse_url(backend, Path(tmp), args.postgres_admin_url) as url:
                outcome = run_together(url, sources, args.windows, args.texts, args.compute_seconds,
                                       args.hold_seconds, args.pause_seconds, warehouse, Path(tmp))
            print(f"\n{backend}: rows exactly once: {outcome.rows_exactly_once}; runs ok: {outcome.runs_ok} "
                  f"of {len(sources) * args.windows}")
            for writer in outcome.writers:
                print(f"  run {writer.source}: {writer.windows_written} windows in {writer.seconds:g} s, "
                      f"longest window write {writer.longest_write_seconds:g} s (waits included)")
            print(f"  reader: {asdict(outcome.reader)}")
    return 0


@contextmanager
def warehouse_url(backend: str, directory: Path, postgres_admin_url: str) -> Iterator[str]:
    """A fresh warehouse: a DuckDB file in `directory`, or a database of its own on the PostgreSQL
    server, dropped afterwards."""
    if backend == "duckdb":
        yield f"duckdb:///{directory / 'sori.duckdb'}"
        return
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"sori_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
