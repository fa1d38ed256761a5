"""Start-up time: from a fresh process to the first classified batch, cold (empty head cache) and warm.

    python -m models.evaluation.bench_startup [--flow] [--baseline-checkout DIR] [--start D --end D]

Each measurement is a fresh Python process, so imports, model loading and the head cache count as they
do for a user. The in-process run times each step (imports, config, Kiwi, the ONNX sessions, the heads,
the topic step's set-up, the first `Sori.classify` on sample reviews) and is run twice on one
temporary head cache ($SORI_HEAD_CACHE): first empty (cold: the heads are fitted and stored), then
filled (warm: they are loaded). With --flow it also times a real `sori run` of one sample day, from
starting the process to the first classified batch (the pipeline's progress line), cold then warm, and with
--baseline-checkout the same flow run from another checkout of sori (one without a head cache, such as
the main branch) on the same machine, cold then warm as well; `--start/--end` time a longer window
instead of the one day (the README's main job: 2026-08-01 … 2026-10-31), with the ratio of the
baseline's time to exit to this checkout's. The ONNX exports must already be built (any earlier run
builds them). Every run gets its own temporary warehouse and topic model folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from models.evaluation.bench_runners import write_config
from pipeline.config import PROJECT_ROOT

# Prefect's flow-run log line, and the pipeline's progress line when a chunk of a classify-batch task
# has passed the last batch-level stage (tag); COLUMNS keeps Prefect's console handler from wrapping.
FLOW_RUN_BEGINS = re.compile(r"Beginning flow run")
FIRST_BATCH_DONE = re.compile(r"sori\.nlp \S*\+tag: \d+/\d+ documents")
SAMPLE_DAY = date(2026, 10, 20)
SAMPLE_ITEMS = 32


def steps_in_process(config_path: str) -> list[tuple[str, float]]:
    """Seconds per start-up step in this (fresh) process, in the order the first batch needs them."""
    began = time.perf_counter()
    steps: list[tuple[str, float]] = []

    def step(label: str) -> None:
        steps.append((label, time.perf_counter() - began - sum(s for _, s in steps)))

    from pipeline.app import Sori

    step("import pipeline.app")
    from models.onnx import sentence_model, sentiment_model, voc_model
    from pipeline.config import load_config
    from pipeline.text.korean import shared_kiwi

    config = load_config(config_path)
    step("load the config")
    shared_kiwi()
    step("Kiwi")
    models = config.models
    if models.voc:
        voc_model(models.voc, models.device, models.backend)
        step(f"VOC model ({models.backend})")
    else:
        sentiment_model(models.sentiment, models.device, models.backend)
        step(f"sentiment model ({models.backend})")
        sentence_model(models.encoder, models.device, models.backend)
        step(f"encoder ({models.backend})")
    sori = Sori.open(config_path)
    step("Sori.open: heads, prototypes, topic step set-up")
    from pipeline.ingest.sources import open_source
    from pipeline.window import Window

    batch = open_source(config.source("reviews"), config.tz).read(Window(SAMPLE_DAY, SAMPLE_DAY), None)
    step("read sample reviews")
    sori.classify(batch.items[:SAMPLE_ITEMS], [])
    step(f"first Sori.classify ({min(len(batch.items), SAMPLE_ITEMS)} reviews)")
    return steps


def run_child(config: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    out = subprocess.run([sys.executable, "-m", "models.evaluation.bench_startup", "--child", str(config)],
                         cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, text=True)
    return [(label, seconds) for label, seconds in json.loads(out.stdout.strip().splitlines()[-1])]


def time_flow(checkout: Path, config: Path, env: dict[str, str], start: date = SAMPLE_DAY,
              end: date = SAMPLE_DAY) -> tuple[float, float, float]:
    """Seconds from starting `sori run` for a window (one sample day) to its flow run's beginning, to
    its first classified batch and to the process's exit, the flow run from `checkout`'s code."""
    began = time.perf_counter()
    begun, first, lines = None, None, []
    with subprocess.Popen([sys.executable, "-m", "flows.cli", "--config", str(config), "run", "--start",
                           start.isoformat(), "--end", end.isoformat()], cwd=checkout,
                          env={**env, "COLUMNS": "1000"},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if begun is None and FLOW_RUN_BEGINS.search(line):
                begun = time.perf_counter() - began
            if first is None and FIRST_BATCH_DONE.search(line):
                first = time.perf_counter() - began
    if process.returncode != 0 or first is None or begun is None:
        raise RuntimeError(f"sori run in {checkout} exited {process.returncode} "
                           f"{'without a' if first is None else 'after its'} classified batch; "
                           f"its last lines:\n{''.join(lines[-30:])}")
    return begun, first, time.perf_counter() - began


def fresh_config(root: Path, name: str, checkout: Path = PROJECT_ROOT) -> Path:
    """`checkout`'s default config, with its own warehouse and topic model folder under `root`."""
    directory = root / name
    directory.mkdir()
    return write_config(directory, {"kind": "threads", "workers": 1}, directory / "topic_model",
                        checkout / "configs" / "sori.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--flow", action="store_true", help="also time `sori run` of one sample day")
    parser.add_argument("--baseline-checkout", type=Path, help="another sori checkout to time the flow of")
    parser.add_argument("--start", type=date.fromisoformat, default=SAMPLE_DAY, help="the flow's window")
    parser.add_argument("--end", type=date.fromisoformat, default=SAMPLE_DAY)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(steps_in_process(args.child)))
        return 0

    with tempfile.TemporaryDirectory(prefix="sori-startup-") as tmp:
        root = Path(tmp)
        # A loaded machine can take minutes to start Prefect's temporary server.
        env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600", **os.environ,
               "SORI_HEAD_CACHE": str(root / "heads"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        load = f"{os.getloadavg()[0]:.1f}"
        cold = run_child(fresh_config(root, "cold"), env)
        warm = run_child(fresh_config(root, "warm"), env)
        print(f"sori start-up to the first classified batch, each a fresh process "
              f"(load average {load} at the start, {os.getloadavg()[0]:.1f} at the end)")
        print(f"{'step':52s} {'cold s':>8s} {'warm s':>8s}")
        for (label, cold_s), (_, warm_s) in zip(cold, warm, strict=True):
            print(f"{label:52s} {cold_s:8.2f} {warm_s:8.2f}")
        cold_total, warm_total = sum(s for _, s in cold), sum(s for _, s in warm)
        print(f"{'process start → first classified batch':52s} {cold_total:8.2f} {warm_total:8.2f}"
              f"   cold/warm {cold_total / warm_total:.1f}×", flush=True)
        if not (args.flow or args.baseline_checkout):
            return 0
        env["SORI_HEAD_CACHE"] = str(root / "flow-heads")
        checkouts = [("this checkout", PROJECT_ROOT)]
        if args.baseline_checkout:
            checkouts.insert(0, (f"{args.baseline_checkout} (baseline)", args.baseline_checkout))
        runs = [(f"{name}, {cache} head cache", checkout) for name, checkout in checkouts
                for cache in ("cold", "warm")]
        print(f"\n`sori run --start {args.start} --end {args.end}`, fresh process each "
              f"(load average {os.getloadavg()[0]:.1f} at the start)")
        print(f"{'flow run':52s} {'flow begins s':>13s} {'first batch s':>13s} {'exit s':>8s}")
        times = []
        for number, (label, checkout) in enumerate(runs):
            config = fresh_config(root, f"flow-{number}", checkout)
            begun, first, total = time_flow(checkout, config, env, args.start, args.end)
            times.append((first, total))
            print(f"{label:52s} {begun:13.1f} {first:13.1f} {total:8.1f}", flush=True)
        if args.baseline_checkout:
            (_, cold_exit), (first, warm_exit) = times[0], times[1]
            print(f"baseline / this checkout: first mined batch (warm) {first / times[3][0]:.1f}×, "
                  f"exit cold {cold_exit / times[2][1]:.1f}×, warm {warm_exit / times[3][1]:.1f}× "
                  f"(load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
