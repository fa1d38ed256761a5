"""End-to-end throughput of the nightly flow: the default thread runner against a local Dask cluster.

    python -m models.evaluation.bench_runners [--start 2026-10-01] [--end 2026-10-31]
                                              [--workers 2] [--rounds 1]

Each run is a fresh `sori run` process over the same window of the bundled sample data, into its own
DuckDB file, so model loading and Prefect's start-up count as they do for a user. A first, untimed run
fits the topic model that the timed runs then only assign to (as nightly runs do) and builds the ONNX
exports. Runners take turns round by round, so a busy machine slows both alike; the figure is items
(records read) per second of wall time, best of the rounds, with the ratio to the thread runner.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from pipeline.config import DEFAULT_CONFIG, load_config

RUNNERS = {"threads": {"kind": "threads", "workers": 1}, "dask": {"kind": "dask"}}


def write_config(directory: Path, runner: dict, topic_dir: Path, default: Path = DEFAULT_CONFIG) -> Path:
    """The default config (`default`: another checkout's, to time that checkout) with absolute paths, its
    own warehouse and the given runner."""
    config = load_config(default)
    raw = yaml.safe_load(default.read_text(encoding="utf-8"))
    raw["taxonomy"] = str(config.taxonomy)
    raw["topics"]["labels"] = str(config.topics.labels) if config.topics.labels else None
    raw["tagging"]["phrases"] = str(config.tagging.phrases) if config.tagging.phrases else None
    raw["pain"]["examples"] = str(config.pain.examples) if config.pain.examples else None
    raw["topics"]["model_dir"] = str(topic_dir)
    raw["warehouse"]["path"] = str(directory / "sori.duckdb")
    raw["runner"] = {**raw["runner"], **runner}
    for source, loaded in zip(raw["sources"], config.sources, strict=True):
        source["path"] = loaded.path
    path = directory / "sori.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def run_flow(config: Path, start: date, end: date) -> tuple[float, int]:
    """Wall seconds of one `sori run` process and the records it read."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.cli", "--config", str(config), "run", "--start",
                    start.isoformat(), "--end", end.isoformat()], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    engine = create_engine(f"duckdb:///{config.parent / 'sori.duckdb'}")
    with engine.connect() as conn:
        read = conn.execute(text("SELECT records_read FROM runs ORDER BY finished_at DESC LIMIT 1")).scalar()
    engine.dispose()
    return seconds, int(read)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 31))
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sori-bench-") as tmp:
        root = Path(tmp)
        topic_dir = root / "topic_model"
        (root / "warm-up").mkdir()
        run_flow(write_config(root / "warm-up", RUNNERS["threads"], topic_dir), args.start, args.end)
        configs = {}
        for name, runner in RUNNERS.items():
            (root / name).mkdir()
            workers = {"workers": args.workers} if name == "dask" else {}
            configs[name] = write_config(root / name, {**runner, **workers}, root / name / "topic_model")
        timings: dict[str, list[float]] = {name: [] for name in configs}
        items = 0
        for _ in range(args.rounds):
            for name, config in configs.items():
                shutil.rmtree(config.parent / "topic_model", ignore_errors=True)
                shutil.copytree(topic_dir, config.parent / "topic_model")
                (config.parent / "sori.duckdb").unlink(missing_ok=True)
                seconds, items = run_flow(config, args.start, args.end)
                timings[name].append(seconds)

    base = min(timings["threads"])
    print(f"sori flow throughput, window {args.start} … {args.end}: {items:,} records, "
          f"best of {args.rounds} round(s), each a fresh `sori run` process")
    print(f"{'runner':34s} {'seconds':>8s} {'items/s':>8s} {'vs threads':>10s}")
    for name, seconds in timings.items():
        label = ("threads (default, 1 worker)" if name == "threads"
                 else f"dask local cluster, {args.workers} workers")
        best = min(seconds)
        print(f"{label:34s} {best:8.1f} {items / best:8.1f} {base / best:9.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
