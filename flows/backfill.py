"""Backfill: a long window mined in chunks, each an idempotent child flow run of `sori-mine-window`.

The parameters are checked against the config before any chunk runs, and a refusal (an unknown source,
dates out of order) ends the run at once, its state message naming the cause. A failed chunk retries
with backoff (unless it was refused) and does not stop the others; the backfill's final state names the
chunks that failed and why; running the same backfill again skips the chunks that already completed,
so it only redoes what is missing. Each chunk publishes its own story; the backfill then publishes
the whole window's (the same artifacts and HTML report), also when every chunk was skipped, which is
what the analyst asked about: its reconciliation counts the skipped chunks too, as the runs that
completed them read them.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State, get_state_exception
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from flows.nightly import REFUSALS, mine_window, refused, requested, retry_unless_refused, tell_window
from pipeline.app import Sori
from pipeline.insights.report import RunSummary
from pipeline.warehouse.writes import RunCounts
from pipeline.window import Window

CHUNK_RETRIES = 2
CHUNK_RETRY_DELAYS = [30, 120]
MAX_CONCURRENT_CHUNKS = 4


class BackfillFailed(RuntimeError):
    """Some chunks failed after their retries; the message names them so they can be re-run."""


def chunk_window(window: Window, chunk_days: int) -> list[Window]:
    chunks, start = [], window.start
    while start <= window.end:
        end = min(start + timedelta(days=chunk_days - 1), window.end)
        chunks.append(Window(start, end))
        start = end + timedelta(days=1)
    return chunks


# The task retries, not the child flow: a flow's retry delay is one number, a task's can back off.
# Each attempt is a new child flow run of the same name.
@task(name="mine-chunk", cache_policy=NO_CACHE, retries=CHUNK_RETRIES, retry_delay_seconds=CHUNK_RETRY_DELAYS,
      retry_condition_fn=retry_unless_refused)
def mine_chunk(config_path: str | None, start: date, end: date, sources: list[str]) -> RunSummary:
    child = mine_window.with_options(flow_run_name=f"chunk-{start}-{end}")
    return child(start=start, end=end, sources=sources, config_path=config_path)


def publish_window_story(config_path: str | None, window: Window, sources: list[str],
                         counts: list[RunCounts], seconds: float) -> None:
    """The whole window's story, read from the warehouse after the chunks wrote it; the counts are
    those of every chunk, mined by this run or skipped as completed by an earlier one. Emerging issues
    are judged again over the whole window first: chunks mined side by side (`concurrency` > 1) judged
    their days while a neighbour's were still being written."""
    Sori.open(config_path).judge_emerging(window)
    tell_window(config_path, str(flow_run.get_id()), window, sources, RunCounts.total(counts), seconds)


@flow(name="sori-backfill", task_runner=ThreadPoolTaskRunner(max_workers=MAX_CONCURRENT_CHUNKS))
def backfill(
    start: date,
    end: date,
    sources: list[str] | None = None,
    chunk_days: Annotated[int, Field(ge=1, le=92)] = 7,
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENT_CHUNKS)] = 1,
    force: bool = False,
    config_path: str | None = None,
) -> list[str]:
    """Mine a past window again, chunk by chunk.

    Args:
        start: First local date of the window (inclusive).
        end: Last local date of the window (inclusive).
        sources: Source names to mine; empty means every configured source.
        chunk_days: Days per chunk; each chunk is one child flow run, written in one transaction.
        concurrency: Chunks mined at the same time (models are shared, so 1 suits small machines).
        force: Redo chunks that already completed instead of skipping them.
        config_path: sori config YAML; empty means configs/sori.yaml or $SORI_CONFIG.
    """
    started = time.perf_counter()
    logger = get_run_logger()
    try:
        window, names = requested(config_path, start, end, sources)
    except REFUSALS as exc:
        return refused(exc)
    sori = Sori.open(config_path)
    done = {} if force else sori.completed_windows(names)
    chunks = chunk_window(window, chunk_days)
    todo = [chunk for chunk in chunks if chunk not in done]
    skipped = [done[chunk] for chunk in chunks if chunk in done]
    logger.info("%d chunks to mine, %d already complete", len(todo), len(skipped))
    failed: list[str] = []
    summaries: list[RunSummary] = []
    for offset in range(0, len(todo), concurrency):
        wave = todo[offset : offset + concurrency]
        futures = [mine_chunk.submit(config_path, c.start, c.end, names) for c in wave]
        for chunk, future in zip(wave, futures, strict=True):
            future.wait()
            state = future.state
            if state.is_completed():
                summaries.append(future.result())
            else:
                failed.append(f"{chunk.start}…{chunk.end} ({cause(state)})")
                logger.error("chunk %s … %s failed: %s", chunk.start, chunk.end, cause(state))
    if summaries or skipped:
        publish_window_story(config_path, window, names, [s.counts for s in summaries] + skipped,
                             time.perf_counter() - started)
    if failed:
        message = f"{len(failed)} of {len(todo)} chunks failed: {', '.join(failed)}"
        return Failed(message=message, data=BackfillFailed(message))
    return [f"{c.start}…{c.end}" for c in todo]


def cause(state: State) -> str:
    """Why a chunk failed, as its exception says it (the task's own message only wraps it)."""
    try:
        exc = get_state_exception(state)
    except (TypeError, ValueError):
        return state.message or state.name
    return f"{type(exc).__name__}: {exc}"
