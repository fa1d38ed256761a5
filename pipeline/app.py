"""The application: what a flow, the CLI or a notebook asks of sori, one method per use case.

`Sori.open(config_path)` is built once per process and config: the validated config, the pipeline
over the process's Resources, and the warehouse engine (schema ensured) once a use case needs it. It
is built again when the config, the taxonomy or the saved topic model changes, so a long-running
`sori serve` picks up an analyst's taxonomy edit or a refit. Prefect flows only orchestrate these
calls; nothing here imports Prefect.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine

from pipeline.config import SoriConfig, load_config
from pipeline.document import Conversation, Document, FeedbackItem
from pipeline.ingest.sources import SourceBatch, open_source
from pipeline.insights.alerts import load_alert_config, send_alerts
from pipeline.insights.emerging import write_emerging
from pipeline.insights.html_report import write_report
from pipeline.insights.report import Findings, Labels, RunSummary, pain_counts, read_findings
from pipeline.insights.report_server import ReportFile
from pipeline.nlp import Pipeline, documents
from pipeline.resources import Resources
from pipeline.text.pii.masker import PiiMasker
from pipeline.topics.model import META_FILE as TOPIC_META_FILE
from pipeline.topics.model import RefitReport, refit
from pipeline.warehouse.queries import completed_windows, pain_evidence, replace_topics
from pipeline.warehouse.retag import replace_mined, stored_items
from pipeline.warehouse.schema import connect, ensure_schema
from pipeline.warehouse.writes import (
    RunCounts,
    RunOutcome,
    close_abandoned_runs,
    close_run,
    finish_run,
    record_seconds,
    replace_window,
    start_run,
    watermark,
    window_writes,
)
from pipeline.window import Window

log = logging.getLogger("sori.app")

Result = TypeVar("Result")

_opened: dict[tuple[str | None, str], Sori] = {}
_opened_lock = threading.Lock()


def run_status(window: Window, counts: RunCounts, failures: list[str]) -> tuple[str, str]:
    """`failed` when a source could not be read; `warning` when records were quarantined or no source
    had a single record for the window (a missing export looks like a quiet night); else `ok`."""
    if failures:
        return "failed", "; ".join(failures)
    if counts.records_read == 0:
        return "warning", f"no records read from any source for {window.start} … {window.end}"
    if counts.records_quarantined:
        return "warning", f"{counts.records_quarantined} records quarantined"
    return "ok", ""


def fingerprint(config: SoriConfig) -> str:
    """What a built pipeline depends on besides code: the config, the taxonomy file and the saved
    topic model's metadata."""
    parts = [config.model_dump_json().encode(), config.taxonomy.read_bytes()]
    topic_meta = config.topics.model_dir / TOPIC_META_FILE
    if topic_meta.exists():
        parts.append(topic_meta.read_bytes())
    return hashlib.sha256(b"\x1f".join(parts)).hexdigest()


@dataclass
class Sori:
    config: SoriConfig
    pipeline: Pipeline

    @functools.cached_property
    def engine(self) -> Engine:
        """The warehouse, schema ensured, opened on first use: a Dask worker that only classifies never
        opens it. An embedded DuckDB file admits one process at a time, so its engine holds the file
        only while a transaction runs and waits for another process's lock (`schema.connect`)."""
        warehouse = self.config.warehouse
        engine = connect(warehouse.sqlalchemy_url(), warehouse.lock_wait_seconds, warehouse.lock_poll_seconds)
        ensure_schema(engine)
        return engine

    @classmethod
    def open(cls, config_path: str | None = None) -> Sori:
        """The process's Sori for this config, built again when the config, the taxonomy or the topic
        model changed since it was built."""
        config = load_config(config_path)
        key = (config_path, fingerprint(config))
        with _opened_lock:
            if key not in _opened:
                _opened[key] = cls(config, Pipeline.from_config(config))
            return _opened[key]

    @classmethod
    def open_in_background(cls, config_path: str | None = None) -> threading.Thread:
        """Starts `open` and the pipeline's `warm_up` on a daemon thread: their seconds (models, heads,
        the topic model or the libraries that fit one) pass while the caller starts something else, such
        as Prefect's temporary server, which runs in a process of its own. The flow's own `open` then
        finds the pipeline built, or waits for it (one lock). A failure is left to that `open` to raise
        again, where the flow records it."""

        def build() -> None:
            try:
                cls.open(config_path).pipeline.warm_up()
            except Exception:  # noqa: BLE001 - raised again, and recorded, by the flow's own open
                log.debug("opening sori in the background failed; the flow will open it", exc_info=True)

        thread = threading.Thread(target=build, name="sori-open", daemon=True)
        thread.start()
        return thread

    @property
    def resources(self) -> Resources:
        return Resources.for_models(self.config.models)

    def source_names(self, sources: list[str] | None) -> list[str]:
        """The named sources, or all; `RequestError` for a name the config does not have."""
        return self.config.requested_sources(sources)

    # Reading

    def reads_incrementally(self, source: str) -> bool:
        """Whether the source (a database or API) can be read from a watermark on."""
        return open_source(self.config.source(source), self.config.tz).supports_incremental

    def watermark(self, source: str) -> datetime | None:
        """The last modification time read from the source, None before its first incremental read."""
        return watermark(self.engine, source)

    def read_source(self, source: str, window: Window, since: datetime | None,
                    track_watermark: bool) -> SourceBatch:
        """The window's records, or (with `since`) everything modified after the source's watermark."""
        batch = open_source(self.config.source(source), self.config.tz).read(None if since else window, since)
        if not track_watermark:
            batch.watermark = None
        return batch

    # Mining

    def classify(self, items: list[FeedbackItem], conversations: list[Conversation]) -> list[Document]:
        """The batch-level stages (normalise … tag) on one batch."""
        head, _ = self.pipeline.split()
        return head.run(documents(items, conversations))

    def finish(self, docs: list[Document]) -> tuple[list[Document], str]:
        """The explicit topic step (a first model, saved, when none exists) and the corpus-level stages,
        which need every document of the run at once; with the model version the rows record."""
        self.pipeline.fit_topics_if_missing(docs, save=True)
        _, tail = self.pipeline.split()
        return tail.run(docs), self.pipeline.model_version

    # Writing

    def start_run(self, run_id: str, flow: str, window: Window, sources: list[str]) -> list[str]:
        """Records the run as `running`, first closing as `crashed` the runs a killed process left
        open; returns the ids it closed."""
        abandoned_after = timedelta(hours=self.config.warehouse.abandoned_after_hours)
        closed = close_abandoned_runs(self.engine, abandoned_after, run_id)
        start_run(self.engine, run_id, flow, window, sources)
        return closed

    def finish_run(self, outcome: RunOutcome) -> None:
        """Records the outcome of a run that wrote no window."""
        finish_run(self.engine, outcome)

    def close_run(self, run_id: str, status: str, message: str) -> bool:
        """Records that Prefect ended the run (`failed`, `cancelled`, `crashed`) outside sori's own
        bookkeeping."""
        return close_run(self.engine, run_id, status, message)

    def record_seconds(self, run_id: str, seconds: float) -> None:
        record_seconds(self.engine, run_id, seconds)

    def write_window(self, window: Window, batches: list[SourceBatch], docs: list[Document], run_id: str,
                     model_version: str, failures: list[str], seconds: float) -> RunOutcome:
        """Replaces the window's rows of every mined source and records the run's outcome, in one
        transaction. `failures` are the sources that could not be read."""
        channels = {source.name: source.channel_name for source in self.config.sources}
        writes = window_writes(batches, docs, run_id, model_version, PiiMasker(),
                               self.config.warehouse.store_raw_text, channels)
        counts = RunCounts(
            records_read=sum(b.records_read for b in batches),
            records_quarantined=sum(len(b.quarantine) for b in batches),
            feedback_rows=sum(len(w.feedback) for w in writes),
            sentences=sum(len(d.sentences) for d in docs),
            pain_points=sum(len(w.pain_points) for w in writes),
        )
        status, message = run_status(window, counts, failures)
        outcome = RunOutcome(run_id, status, counts, seconds, message, model_version)
        replace_window(self.engine, window, writes, self.pipeline.topic_rows(), outcome)
        return outcome

    def judge_emerging(self, window: Window) -> int:
        """Emerging issues of the window judged again from the warehouse; the number flagged."""
        return write_emerging(self.engine, window, self.config.emerging)

    def completed_windows(self, sources: list[str]) -> dict[Window, RunCounts]:
        return completed_windows(self.engine, sources)

    # Telling

    def tell_window(self, run_id: str, window: Window, sources: list[str], counts: RunCounts,
                    seconds: float) -> tuple[RunSummary, Findings, ReportFile]:
        """What the window holds now, read back from the warehouse: the run summary, the story in the
        taxonomy's labels and the HTML report written beside the warehouse, with its web address when
        the reports are served. A mined window and a whole backfill tell it so."""
        by_category, by_touchpoint = pain_counts(self.engine, window, sources)
        summary = RunSummary(run_id, window, counts, seconds, by_category, by_touchpoint)
        reports = self.config.reports
        findings = read_findings(self.engine, window, sources, Labels.of(self.config.load_taxonomy()),
                                 reports.examples)
        path = write_report(self.engine, summary, self.config.reports_dir, self.pipeline.topic_model,
                            findings, reports, sources)
        return summary, findings, ReportFile.at(path, reports)

    def route_alerts(self, window: Window, sources: list[str], run_id: str) -> dict[str, int] | None:
        """Alerts for the window's pain points by the configured rules; None when none are configured."""
        if self.config.alerts is None:
            return None
        return send_alerts(self.engine, load_alert_config(self.config.alerts), self.config.load_taxonomy(),
                           window, sources, run_id)

    # Maintenance

    def refit_topics(self, window: Window, run_id: str) -> RefitReport:
        """A new topic model on the window's pain sentences, embedded as the nightly run embeds them
        (the same Resources), with the window's rows re-assigned to it. Recorded in `runs` as flow
        `topic-refit`, its `sentences` those fitted on."""

        def work() -> tuple[RefitReport, RunCounts, str]:
            rows = pain_evidence(self.engine, window)
            topics = self.config.topics
            if len(rows) < topics.min_documents:
                raise ValueError(f"only {len(rows)} pain sentences in {window.start} … {window.end}; "
                                 f"a topic model needs at least {topics.min_documents}")
            texts = [evidence for _, evidence in rows]
            resources = self.resources
            embeddings = resources.embedder.embed(resources.analyzer.model_texts(texts))
            model, assigned, report = refit(texts, embeddings, topics, resources.embedder, resources.analyzer)
            replace_topics(self.engine, [(pid, tid, model.label(tid))
                                         for (pid, _), tid in zip(rows, assigned, strict=True)],
                           model.version, model.table())
            return report, RunCounts(sentences=report.sentences), f"topics={report.version}"

        every_source = [source.name for source in self.config.sources]
        return self.recorded(run_id, "topic-refit", window, every_source, work)

    def retag(self, window: Window, sources: list[str] | None, run_id: str) -> tuple[int, int, int]:
        """Stored feedback of the window mined again with the current taxonomy and models: (texts,
        pain points written, emerging flags). Recorded in `runs` as flow `retag`: the rows it rewrites
        carry its id. `RequestError` for a source the config does not have."""

        def work() -> tuple[tuple[int, int, int], RunCounts, str]:
            items, chats = stored_items(self.engine, window, sources)
            docs = self.pipeline(items, chats, batch_size=self.config.runner.batch_size, save_topics=True)
            written = replace_mined(self.engine, docs, run_id, self.pipeline.model_version,
                                    self.config.warehouse.store_raw_text)
            counts = RunCounts(feedback_rows=len(docs), sentences=sum(len(d.sentences) for d in docs),
                               pain_points=written)
            return (len(docs), written, self.judge_emerging(window)), counts, self.pipeline.model_version

        return self.recorded(run_id, "retag", window, self.source_names(sources), work)

    def recorded(self, run_id: str, flow: str, window: Window, sources: list[str],
                 work: Callable[[], tuple[Result, RunCounts, str]]) -> Result:
        """`work()`'s result, the run recorded in `runs` as it goes: `running`, then `ok` with the
        counts and model version `work` returns, or `failed` with the exception it raised (then raised
        again), so a maintenance run ends in a final status as a mined window does."""
        started = time.perf_counter()
        self.start_run(run_id, flow, window, sources)
        try:
            result, counts, model_version = work()
        except Exception as exc:
            seconds = time.perf_counter() - started
            self.finish_run(RunOutcome(run_id, "failed", RunCounts(), seconds, repr(exc)))
            raise
        self.finish_run(RunOutcome(run_id, "ok", counts, time.perf_counter() - started,
                                   model_version=model_version))
        return result
