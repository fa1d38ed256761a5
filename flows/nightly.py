"""Prefect flow that mines one date window: read each source, run the NLP pipeline, write the window.

The flow only orchestrates: each task is one call into `pipeline.app.Sori`. Tasks take small,
hashable inputs (names, dates, the config path) or pass objects in-process; nothing is cached across
runs, because the warehouse itself is the record of what was done.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, datetime

from prefect import Flow, Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun, TaskRun
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State, get_state_exception
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.artifacts import publish_artifacts
from pipeline.app import Sori
from pipeline.config import ConfigError, RequestError, SoriConfig, load_config
from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.ingest.readers import SourceReadError
from pipeline.ingest.sources import SourceBatch
from pipeline.insights.report import Findings, RunSummary, warnings
from pipeline.warehouse.writes import RunCounts, RunOutcome
from pipeline.window import Window

REFUSALS = (ConfigError, RequestError)


def retry_unless_refused(task: Task, task_run: TaskRun, state: State) -> bool:
    """A task's retry condition: a config or its parameters refused is never retried, since the same
    config and parameters would be refused again after the back-off; anything else may be transient."""
    return not isinstance(state.data, REFUSALS)


def requested(config_path: str | None, start: date | None, end: date | None,
              sources: list[str] | None) -> tuple[Window, list[str]]:
    """The window and sources a run asks for, checked against the config before any work: a
    `ConfigError` or `RequestError` (one of `REFUSALS`) naming the cause otherwise."""
    config = load_config(config_path)
    return config.requested_window(start, end), config.requested_sources(sources)


def refused(exc: Exception) -> State:
    """How a flow ends whose config or parameters cannot work: Failed, its message naming the cause
    (the UI shows it without opening the logs), without a traceback, before any work started."""
    message = f"refused: {exc}"
    get_run_logger().error("%s", message)
    return Failed(message=message, data=exc)


@task(name="read-source", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_refused,
      cache_policy=NO_CACHE)
def read_source(config_path: str | None, source: str, start: date, end: date, since: datetime | None = None,
                track_watermark: bool = False) -> SourceBatch:
    """The window's records, or (with `since`) everything modified after the source's watermark."""
    batch = Sori.open(config_path).read_source(source, Window(start, end), since, track_watermark)
    get_run_logger().info("%s: %d records read, %d texts to mine, %d quarantined", source,
                          batch.records_read, len(batch.items), len(batch.quarantine))
    return batch


@task(name="classify-batch", cache_policy=NO_CACHE)
def classify_batch(config_path: str | None, items: list[FeedbackItem],
                   conversations: list[Conversation]) -> list[Document]:
    """The batch-level stages (normalise … tag) on one batch; runs on any worker of the task runner."""
    return Sori.open(config_path).classify(items, conversations)


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_documents(config_path: str | None, docs: list[Document]) -> tuple[list[Document], str]:
    """The corpus-level stages (topics, then severity) need every document of the run at once."""
    return Sori.open(config_path).finish(docs)


def _as_is(value: object) -> object:
    return value


def mine(config_path: str | None, batches: list[SourceBatch]) -> tuple[list[Document], str]:
    """Classification batches go to the task runner the config names, chosen at run time, so the
    same flow honours the config whether run by the CLI, `sori serve` or a work-pool worker.

    Records and documents go to tasks `quote`d: Prefect would otherwise walk every dataclass field of
    every document (sentences, scores, embeddings) looking for futures, for seconds per task. Not to a
    Dask cluster: its submit rebuilds tuples, and a quoted value is one, so the worker would get a bare
    tuple (and there the parameters are pickled whole anyway)."""
    config = Sori.open(config_path).config
    items = [item for batch in batches for item in batch.items]
    conversations = [c for batch in batches for c in batch.conversations]
    size = config.runner.batch_size
    shipped = quote if config.runner.kind == "threads" else _as_is
    with task_runner(config) as runner:
        futures = [
            runner.submit(classify_batch, {"config_path": config_path, "items": shipped(items[i : i + size]),
                                           "conversations": shipped(conversations)})
            for i in range(0, len(items), size)
        ]
        sizes = [len(items[i : i + size]) for i in range(0, len(items), size)]
        wait_logging_progress(futures, sizes, config.runner.progress_seconds)
        docs = [doc for future in futures for doc in future.result()]
    return finish_documents(config_path, quote(docs))


def wait_logging_progress(futures: list[PrefectFuture], sizes: list[int], every: float) -> None:
    """Waits for the classification batches, logging texts classified so far at least every `every`
    seconds: a batch can take longer than that, and a silent run looks like a hung one. Batches are
    counted in submission order, so with several workers the count can lag, never run ahead."""
    logger = get_run_logger()
    total, done, started = sum(sizes), 0, time.monotonic()
    logger.info("classifying %d texts in %d batches", total, len(futures))
    heartbeat = started + every
    for index, (future, size) in enumerate(zip(futures, sizes, strict=True)):
        while True:
            future.wait(timeout=max(heartbeat - time.monotonic(), 0.0))
            if future.state.is_final():
                break
            logger.info("classified %d of %d texts (%d of %d batches) after %.0f s", done, total, index,
                        len(futures), time.monotonic() - started)
            heartbeat = time.monotonic() + every
        done += size
    logger.info("classified %d texts in %.0f s", total, time.monotonic() - started)


@task(name="route-alerts", cache_policy=NO_CACHE)
def route_alerts(config_path: str | None, start: date, end: date, sources: list[str], run_id: str) -> None:
    delivered = Sori.open(config_path).route_alerts(Window(start, end), sources, run_id)
    get_run_logger().info("alerts delivered: %s", delivered)


def task_runner(config: SoriConfig) -> TaskRunner:
    if config.runner.kind == "dask":
        from prefect_dask import DaskTaskRunner

        if config.runner.address:
            return DaskTaskRunner(address=config.runner.address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": config.runner.workers, "threads_per_worker": 1,
                                              "processes": True})
    return ThreadPoolTaskRunner(max_workers=config.runner.workers)


@task(name="write-window", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_refused,
      cache_policy=NO_CACHE)
def write_window(config_path: str | None, start: date, end: date, batches: list[SourceBatch],
                 docs: list[Document], run_id: str, model_version: str, failures: list[str],
                 seconds: float) -> RunOutcome:
    return Sori.open(config_path).write_window(Window(start, end), batches, docs, run_id, model_version,
                                               failures, seconds)


def record_end(status: str) -> Callable[[Flow, FlowRun, State], None]:
    """A state hook: records in `runs` that Prefect ended the run so (failed, cancelled, crashed),
    which sori's own bookkeeping cannot do for a cancelled or killed run. A refused run never started
    its row, so there is nothing to record and no reason to open the pipeline."""

    def hook(flow: Flow, flow_run: FlowRun, state: State) -> None:
        if isinstance(get_state_exception(state), REFUSALS):
            return
        config_path = flow_run.parameters.get("config_path")
        message = f"{state.name}: {state.message or 'no message'}"
        Sori.open(config_path).close_run(str(flow_run.id), status, message[:2000])

    return hook


def tell_window(config_path: str | None, run_id: str, window: Window, sources: list[str],
                counts: RunCounts, seconds: float) -> tuple[RunSummary, Findings]:
    """What the window holds now, logged and published as artifacts and the HTML report."""
    summary, findings, report = Sori.open(config_path).tell_window(run_id, window, sources, counts, seconds)
    get_run_logger().info("%s", summary.render())
    publish_artifacts(summary, findings, report)
    return summary, findings


# No log_prints: it swaps builtins.print for the run, and numba then fails to compile UMAP's kernels
# (pynndescent) the first time they are compiled in a fresh environment ("Untyped global name 'print'").
@flow(name="sori-mine-window", on_failure=[record_end("failed")], on_cancellation=[record_end("cancelled")],
      on_crashed=[record_end("crashed")])
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
    try:
        window, names = requested(config_path, start, end, sources)
    except REFUSALS as exc:
        return refused(exc)
    sori = Sori.open(config_path)
    run_id = str(flow_run.get_id() or uuid.uuid4())
    for closed in sori.start_run(run_id, "mine-window", window, names):
        logger.warning("run %s was left running by a process that is gone: closed as crashed", closed)

    batches, failures = [], []
    for name in names:
        # The nightly run pulls databases and APIs incrementally once they have a watermark; a
        # backfill (explicit dates) reads its own window and leaves the watermark alone.
        incremental = start is None and sori.reads_incrementally(name)
        since = sori.watermark(name) if incremental else None
        try:
            batches.append(read_source(config_path, name, window.start, window.end, since, incremental))
        except SourceReadError as exc:
            logger.error("source %s cannot be read, nothing written for it: %s", name, exc)
            failures.append(f"{name}: {exc}")
    try:
        docs, model_version = mine(config_path, batches)
        outcome = write_window(config_path, window.start, window.end, quote(batches), quote(docs), run_id,
                               model_version, failures, time.perf_counter() - started)
    except Exception as exc:
        sori.finish_run(RunOutcome(run_id, "failed", RunCounts(), time.perf_counter() - started, repr(exc)))
        raise
    if not batches:  # no source could be read: nothing was mined, so there is no story to tell
        raise SourceReadError("; ".join(failures))
    flags = sori.judge_emerging(window)
    mined_sources = [b.source for b in batches]
    counts = outcome.counts
    summary, findings = tell_window(config_path, run_id, window, mined_sources, counts,
                                    time.perf_counter() - started)
    if sori.config.alerts:
        route_alerts(config_path, window.start, window.end, mined_sources, run_id)
    for warning in warnings(findings, flags, counts, sori.config.emerging.trend_days):
        logger.warning("%s", warning)
    sori.record_seconds(run_id, time.perf_counter() - started)
    if failures:
        raise SourceReadError("; ".join(failures))
    if counts.records_read == 0:
        logger.warning("%s", outcome.message)
        return Completed(data=summary, name="Empty", message=outcome.message)
    return summary
