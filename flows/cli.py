"""The `sori` command: `run` mines a window through the Prefect flow, `classify` tags any file.

Whatever can be refused is refused first, in one line on stderr and exit status 2, before Prefect is
imported or a model is loaded: the arguments, the config (with the taxonomy and alert rules it names),
source names, dates, and for `classify` the output format and the input file's columns. A refusal
never reaches a flow, so it is never retried and never logged into the Prefect database.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from datetime import date
from typing import NoReturn

from pipeline.classify import DEFAULT_CHUNK_ROWS, ClassifyError, TableWriter, classify_file, open_texts
from pipeline.config import ConfigError, SoriConfig, load_config
from pipeline.ingest.readers import SourceReadError
from pipeline.insights.report_server import ReportServerError

REFUSED = 2


class Refused(ValueError):
    """Arguments that contradict themselves or the config."""


class Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other refusal (argparse would print the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(REFUSED, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-31") from None


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="sori", description="Korean voice-of-customer mining")
    parser.add_argument("--config", help="config YAML (default: configs/sori.yaml or $SORI_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="mine a window into the warehouse (default: yesterday)")
    run.add_argument("--start", type=_date, help="first local date of a backfill window")
    run.add_argument("--end", type=_date, help="last local date (default: --start)")
    run.add_argument("--source", action="append", dest="sources", help="only this source (repeatable)")

    backfill = commands.add_parser("backfill", help="re-mine a past window in chunks (idempotent)")
    backfill.add_argument("--start", type=_date, required=True)
    backfill.add_argument("--end", type=_date, required=True)
    backfill.add_argument("--source", action="append", dest="sources", help="only this source (repeatable)")
    backfill.add_argument("--chunk-days", type=_positive, default=7)
    backfill.add_argument("--force", action="store_true", help="redo chunks that already completed")

    refit = commands.add_parser("refit", help="fit the topic model again on recent history")
    refit.add_argument("--days", type=_positive, default=90)
    refit.add_argument("--end", type=_date, help="last date of the history (default: yesterday)")

    retag = commands.add_parser("retag", help="re-apply the taxonomy (and models) to stored history")
    retag.add_argument("--days", type=_positive, default=90)
    retag.add_argument("--end", type=_date, help="last date to re-tag (default: yesterday)")
    retag.add_argument("--source", action="append", dest="sources", help="only this source (repeatable)")

    commands.add_parser("serve", help="register and serve prefect.yaml's deployments (nightly, backfill, "
                                      "retag, topic-refit) and the HTML reports over HTTP (reports: in the "
                                      "config)")

    classify = commands.add_parser(
        "classify", help="tag the texts of a CSV, JSONL or Parquet file",
        description="Tags the texts of a CSV, JSONL or Parquet file, streaming: rows are read, classified "
                    "and appended to --out a chunk at a time, so memory stays flat and a crash keeps the "
                    "chunks already written. Topics come from the saved topic model (topics.model_dir); "
                    "without one, a model is fitted in memory on the first chunk's pain sentences (when "
                    "there are at least topics.min_documents) and assigns every later chunk, else topics "
                    "stay -1: the same file and --chunk-rows give the same topics.")
    classify.add_argument("file")
    classify.add_argument("--text-column", required=True)
    classify.add_argument("--id-column", help="ids of the rows (default: the 1-based row number)")
    classify.add_argument("--out", required=True, help="output file: .csv, .jsonl or .parquet")
    classify.add_argument("--sentences", action="store_true", help="one row per sentence")
    classify.add_argument("--chunk-rows", type=_positive, default=DEFAULT_CHUNK_ROWS,
                          help=f"input rows per chunk (default {DEFAULT_CHUNK_ROWS}); without a saved topic "
                               "model, the first chunk is also what topics are fitted on")

    bench = commands.add_parser("bench", help="classifier speed and accuracy: torch against ONNX Runtime")
    bench.add_argument("--quick", action="store_true", help="a few dozen sentences, one round (for tests)")
    return parser


def check(args: argparse.Namespace) -> SoriConfig:
    """The config, the taxonomy and alert rules it names, and the arguments against it; `ConfigError`
    or `Refused` otherwise. Nothing here imports Prefect or model code."""
    config = load_config(args.config)
    config.load_taxonomy()
    if config.alerts:
        from pipeline.insights.alerts import load_alert_config

        load_alert_config(config.alerts)
    unknown = config.unknown_sources(getattr(args, "sources", None) or [])
    if unknown:
        configured = ", ".join(source.name for source in config.sources) or "none"
        raise Refused(f"--source {', '.join(unknown)}: no such source in the config "
                      f"(configured: {configured})")
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if end and not start and args.command == "run":
        raise Refused("--end needs --start")
    if start and end and end < start:
        raise Refused(f"--end {end} is before --start {start}")
    return config


def warm_up_beside_prefect(config_path: str | None) -> None:
    """Once the flow's module (Prefect with it) is imported: the pipeline's models, heads and topic model
    load on a thread while the flow starts Prefect's temporary server, a process of its own. Started
    before that import, the thread would only slow it (one interpreter lock)."""
    from pipeline.app import Sori

    Sori.open_in_background(config_path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = check(args)
        if args.command == "classify":
            writer = TableWriter(args.out)
            rows = open_texts(args.file, args.text_column, args.id_column)
    except (ConfigError, Refused, ClassifyError) as exc:
        print(f"sori: {exc}", file=sys.stderr)
        return REFUSED
    # Prefect's temporary local server would otherwise try to send telemetry from offline machines.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "run":
        from flows.nightly import mine_window

        warm_up_beside_prefect(args.config)
        try:
            mine_window(start=args.start, end=args.end, sources=args.sources, config_path=args.config)
        except SourceReadError as exc:
            print(f"sori: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "backfill":
        from flows.backfill import backfill

        warm_up_beside_prefect(args.config)
        backfill(start=args.start, end=args.end, sources=args.sources, chunk_days=args.chunk_days,
                 force=args.force, config_path=args.config)
        return 0
    if args.command == "refit":
        from flows.refit import refit_topics

        warm_up_beside_prefect(args.config)
        print(f"sori: topic model {refit_topics(days=args.days, end=args.end, config_path=args.config)}")
        return 0
    if args.command == "retag":
        from flows.retag import retag

        warm_up_beside_prefect(args.config)
        written = retag(days=args.days, end=args.end, sources=args.sources, config_path=args.config)
        print(f"sori: {written} pain points after re-tagging")
        return 0
    if args.command == "serve":
        from flows.serve import serve_all

        try:
            serve_all(args.config)
        except ReportServerError as exc:
            print(f"sori: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "bench":
        from models.evaluation.bench import main as bench

        return bench(quick=args.quick, config_path=args.config)
    from pipeline.nlp import Pipeline

    pipeline = Pipeline.from_config(config)
    try:
        with writer:
            read, written = classify_file(rows, pipeline, writer, args.sentences, args.chunk_rows)
    except SourceReadError as exc:
        print(f"sori: {exc} (the rows before it are in {args.out})", file=sys.stderr)
        return 1
    print(f"sori: {read} rows → {written} rows in {args.out}")
    return 0


def command() -> NoReturn:
    """The `sori` console command: `main`, then an exit without the interpreter's last full garbage
    collection.

    At exit CPython walks every object still alive looking for cycles to finalise; after a run that is
    every document, sentence and model object, seconds of the sample period's run (docs/evaluation.md,
    "Leaving without the last collection"). Frozen objects (`gc.freeze`) are left to the operating
    system, which frees the process's memory at once. By then the command has closed what it opened
    (files, warehouse connections), and the exit handlers (Prefect's temporary server, logging) still
    run. Only the command does this: `main` called in a process that goes on (tests) leaves its
    collector alone."""
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    command()
