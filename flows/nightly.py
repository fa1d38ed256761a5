"""Prefect flow that mines one date window: read each source, run the NLP pipeline, write the window.

The flow only orchestrates; every decision about text lives in `pipeline`. Tasks take small,
hashable inputs (names, dates, the config path) or pass objects in-process; nothing is cached across
runs, because the warehouse itself is the record of what was done.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import date, datetime
from functools import lru_cache

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from sqlalchemy import Engine

from flows.artifacts import publish_artifacts
from pipeline.config import SoriConfig, load_config
from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.ingest.readers import SourceReadError
from pipeline.ingest.sources import SourceBatch, open_source
from pipeline.insights.alerts import load_alert_config, send_alerts
from pipeline.insights.emerging import write_emerging
from pipeline.insights.report import Findings, RunSummary, pain_counts, read_findings
from pipeline.nlp import Pipeline, documents
from pipeline.text.pii.masker import PiiMasker
from pipeline.topics.model import META_FILE as TOPIC_META_FILE
from pipeline.warehouse.schema import (
    RunCounts,
    connect,
    ensure_schema,
    finish_run,
    replace_window,
    start_run,
    watermark,
    window_writes,
)
from pipeline.window import Window, trailing_window


def cached_pipeline(config_path: str | None) -> Pipeline:
    """One pipeline per worker process, rebuilt only when the config, the taxonomy or the saved topic
    model changes, so a long-running `sori serve` picks up an analyst's taxonomy edit or a refit.
    (Models themselves are cached by name, so a rebuild does not load them again.)"""
    return _pipeline(config_path, pipeline_fingerprint(load_config(config_path)))


def pipeline_fingerprint(config: SoriConfig) -> str:
    parts = [config.model_dump_json().encode(), config.taxonomy.read_bytes()]
    topic_meta = config.topics.model_dir / TOPIC_META_FILE
    if topic_meta.exists():
        parts.append(topic_meta.read_bytes())
    return hashlib.sha256(b"\x1f".join(parts)).hexdigest()


@lru_cache(maxsize=4)
def _pipeline(config_path: str | None, fingerprint: str) -> Pipeline:
    return Pipeline.from_config(load_config(config_path))


@task(name="read-source", retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE)
def read_source(config_path: str | None, source: str, start: date, end: date, since: datetime | None = None,
                track_watermark: bool = False) -> SourceBatch:
    """The window's records, or (with `since`) everything modified after the source's watermark."""
    config = load_config(config_path)
    batch = open_source(config.source(source), config.tz).read(None if since else Window(start, end), since)
    if not track_watermark:
        batch.watermark = None
    get_run_logger().info("%s: %d records read, %d texts to mine, %d quarantined", source,
                          batch.records_read, len(batch.items), len(batch.quarantine))
    return batch


@task(name="classify-batch", cache_policy=NO_CACHE)
def classify_batch(config_path: str | None, items: list[FeedbackItem],
                   conversations: list[Conversation]) -> list[Document]:
    """The batch-level stages (normalise … tag) on one batch; runs on any worker of the task runner."""
    head, _ = cached_pipeline(config_path).split()
    return head.run(documents(items, conversations))


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_documents(config_path: str | None, docs: list[Document]) -> tuple[list[Document], str]:
    """The corpus-level stages (topics, then severity) need every document of the run at once."""
    pipeline = cached_pipeline(config_path)
    _, tail = pipeline.split()
    return tail.run(docs), pipeline.model_version


def mine(config_path: str | None, batches: list[SourceBatch]) -> tuple[list[Document], str]:
    """Classification batches go to the task runner the config names, chosen at run time, so the
    same flow honours the config whether run by the CLI, `sori serve` or a work-pool worker."""
    config = load_config(config_path)
    items = [item for batch in batches for item in batch.items]
    conversations = [c for batch in batches for c in batch.conversations]
    size = config.runner.batch_size
    with task_runner(config) as runner:
        futures = [
            runner.submit(classify_batch, {"config_path": config_path, "items": items[i : i + size],
                                           "conversations": conversations})
            for i in range(0, len(items), size)
        ]
        docs = [doc for future in futures for doc in future.result()]
    return finish_documents(config_path, docs)


@task(name="route-alerts", cache_policy=NO_CACHE)
def route_alerts(config_path: str | None, start: date, end: date, sources: list[str], run_id: str) -> None:
    config = load_config(config_path)
    assert config.alerts is not None
    delivered = send_alerts(connect(config.warehouse.sqlalchemy_url()), load_alert_config(config.alerts),
                            config.load_taxonomy(), Window(start, end), sources, run_id)
    get_run_logger().info("alerts delivered: %s", delivered)


def task_runner(config: SoriConfig) -> TaskRunner:
    if config.runner.kind == "dask":
        from prefect_dask import DaskTaskRunner

        if config.runner.address:
            return DaskTaskRunner(address=config.runner.address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": config.runner.workers, "threads_per_worker": 1,
                                              "processes": True})
    return ThreadPoolTaskRunner(max_workers=config.runner.workers)


@task(name="write-window", retries=2, retry_delay_seconds=[5, 30], cache_policy=NO_CACHE)
def write_window(config_path: str | None, start: date, end: date, batches: list[SourceBatch],
                 docs: list[Document], run_id: str, model_version: str) -> RunCounts:
    config = load_config(config_path)
    engine = connect(config.warehouse.sqlalchemy_url())
    channels = {source.name: source.channel_name for source in config.sources}
    writes = window_writes(batches, docs, run_id, model_version, PiiMasker(),
                           config.warehouse.store_raw_text, channels)
    replace_window(engine, Window(start, end), writes, cached_pipeline(config_path).topic_rows())
    return RunCounts(
        records_read=sum(b.records_read for b in batches),
        records_quarantined=sum(len(b.quarantine) for b in batches),
        feedback_rows=sum(len(w.feedback) for w in writes),
        sentences=sum(len(d.sentences) for d in docs),
        pain_points=sum(len(w.pain_points) for w in writes),
    )


def tell_window(config_path: str | None, engine: Engine, run_id: str, window: Window, sources: list[str],
                counts: RunCounts, seconds: float) -> tuple[RunSummary, Findings]:
    """What the window holds now, read back from the warehouse: the run summary, logged, and the
    story, published as artifacts and the HTML report. A mined window and a whole backfill tell it so."""
    by_category, by_touchpoint = pain_counts(engine, window, sources)
    summary = RunSummary(run_id, window, counts, seconds, by_category, by_touchpoint)
    get_run_logger().info("%s", summary.render())
    findings = read_findings(engine, window, sources)
    publish_artifacts(config_path, summary, findings, cached_pipeline(config_path).topic_model)
    return summary, findings


# No log_prints: it swaps builtins.print for the run, and numba then fails to compile UMAP's kernels
# (pynndescent) the first time they are compiled in a fresh environment ("Untyped global name 'print'").
@flow(name="sori-mine-window")
def mine_window(start: date | None = None, end: date | None = None, sources: list[str] | None = None,
                config_path: str | None = None) -> RunSummary:
    """Mine one window into the warehouse; re-running a window replaces its rows.

    Args:
        start: First local date of the window; empty means yesterday in the configured time zone.
        end: Last local date of the window (inclusive); empty means the same day as start.
        sources: Source names to mine; empty means every configured source.
        config_path: sori config YAML; empty means configs/sori.yaml or $SORI_CONFIG.
    """
    started = time.perf_counter()
    logger = get_run_logger()
    config = load_config(config_path)
    window = Window(start, end or start) if start else trailing_window(1, config.tz)
    names = sources or [s.name for s in config.sources]
    engine = connect(config.warehouse.sqlalchemy_url())
    ensure_schema(engine)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    start_run(engine, run_id, "mine-window", window, names)

    batches, failures = [], []
    for name in names:
        # The nightly run pulls databases and APIs incrementally once they have a watermark; a
        # backfill (explicit dates) reads its own window and leaves the watermark alone.
        incremental = start is None and open_source(config.source(name), config.tz).supports_incremental
        since = watermark(engine, name) if incremental else None
        try:
            batches.append(read_source(config_path, name, window.start, window.end, since, incremental))
        except SourceReadError as exc:
            logger.error("source %s cannot be read, nothing written for it: %s", name, exc)
            failures.append(f"{name}: {exc}")
    counts, model_version = RunCounts(), ""
    try:
        docs, model_version = mine(config_path, batches)
        counts = write_window(config_path, window.start, window.end, batches, docs, run_id, model_version)
    except Exception as exc:
        finish_run(engine, run_id, "failed", counts, time.perf_counter() - started, repr(exc))
        raise
    flags = write_emerging(engine, window, config.emerging)
    seconds = time.perf_counter() - started
    status = "failed" if failures else ("warning" if counts.records_quarantined else "ok")
    finish_run(engine, run_id, status, counts, seconds, "; ".join(failures), model_version)
    mined_sources = [b.source for b in batches]
    summary, findings = tell_window(config_path, engine, run_id, window, mined_sources, counts, seconds)
    if config.alerts:
        route_alerts(config_path, window.start, window.end, mined_sources, run_id)
    if flags:
        logger.warning("%d emerging issues flagged: see the emerging_issues table", flags)
    if rising := findings.rising:
        logger.warning("rising over the %d days to %s: %s", config.emerging.trend_days, rising[0]["day"],
                       ", ".join(f"{r['dimension']} {r['label']} ({r['trend_count']} recently, "
                                 f"{r['trend_expected']:.0f} expected)" for r in rising))
    if products := findings.products:
        logger.warning("more pain than the rest of their source: %s",
                       ", ".join(f"{r['month']:%Y-%m} {r['source']} {r['product']} ({r['records_with_pain']} "
                                 f"of {r['records']} records, {r['rest_share']:.0%} elsewhere)"
                                 for r in products))
    if counts.records_quarantined:
        logger.warning("%d records quarantined: see the quarantine table", counts.records_quarantined)
    if failures:
        raise SourceReadError("; ".join(failures))
    return summary
