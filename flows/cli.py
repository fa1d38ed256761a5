"""The `sori` command: `run` mines a window through the Prefect flow, `classify` tags any file."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date

from pipeline.ingest.readers import SourceReadError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-31") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sori", description="Korean voice-of-customer mining")
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
    backfill.add_argument("--chunk-days", type=int, default=7)
    backfill.add_argument("--force", action="store_true", help="redo chunks that already completed")

    refit = commands.add_parser("refit", help="fit the topic model again on recent history")
    refit.add_argument("--days", type=int, default=90)
    refit.add_argument("--end", type=_date, help="last date of the history (default: yesterday)")

    retag = commands.add_parser("retag", help="re-apply the taxonomy (and models) to stored history")
    retag.add_argument("--days", type=int, default=90)
    retag.add_argument("--end", type=_date, help="last date to re-tag (default: yesterday)")
    retag.add_argument("--source", action="append", dest="sources", help="only this source (repeatable)")

    commands.add_parser("serve", help="register and serve the nightly, backfill and topic-refit deployments")

    classify = commands.add_parser("classify", help="tag the texts of a CSV, JSONL or Parquet file")
    classify.add_argument("file")
    classify.add_argument("--text-column", required=True)
    classify.add_argument("--id-column")
    classify.add_argument("--out", required=True, help="output file: .csv, .jsonl or .parquet")
    classify.add_argument("--sentences", action="store_true", help="one row per sentence")

    bench = commands.add_parser("bench", help="classifier speed and accuracy: torch against ONNX Runtime")
    bench.add_argument("--quick", action="store_true", help="a few dozen sentences, one round (for tests)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Prefect's temporary local server would otherwise try to send telemetry from offline machines.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "run":
        if args.end and not args.start:
            raise SystemExit("--end needs --start")
        from flows.nightly import mine_window

        try:
            mine_window(start=args.start, end=args.end, sources=args.sources, config_path=args.config)
        except SourceReadError as exc:
            print(f"sori: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "backfill":
        from flows.backfill import backfill

        backfill(start=args.start, end=args.end, sources=args.sources, chunk_days=args.chunk_days,
                 force=args.force, config_path=args.config)
        return 0
    if args.command == "refit":
        from flows.refit import refit_topics

        print(f"sori: topic model {refit_topics(days=args.days, end=args.end, config_path=args.config)}")
        return 0
    if args.command == "retag":
        from flows.retag import retag

        written = retag(days=args.days, end=args.end, sources=args.sources, config_path=args.config)
        print(f"sori: {written} pain points after re-tagging")
        return 0
    if args.command == "serve":
        from flows.serve import serve_all

        serve_all(args.config)
        return 0
    if args.command == "bench":
        from models.evaluation.bench import main as bench

        return bench(quick=args.quick, config_path=args.config)
    from pipeline.classify import classify_texts, document_rows, read_texts, sentence_rows, write_table
    from pipeline.config import load_config
    from pipeline.nlp import Pipeline

    rows = read_texts(args.file, args.text_column, args.id_column)
    pipeline = Pipeline.from_config(load_config(args.config))
    docs = classify_texts(rows, pipeline)
    frame = sentence_rows(docs) if args.sentences else document_rows(docs)
    write_table(frame, args.out)
    print(f"sori: {len(rows)} rows → {len(frame)} rows in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
