"""`sori` refuses bad configuration and arguments at once: one line on stderr, exit status 2, within
seconds, before Prefect starts or a model loads (run in a subprocess, as a user runs it)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.config import DEFAULT_CONFIG
from tests.conftest import REPO

TAXONOMY = DEFAULT_CONFIG.parent / "taxonomy.yaml"
CLASSIFY = ["classify", "{d}/export.csv", "--text-column", "내용"]

PASSWORD = "Pw_short_1"
# A generous bound on a functional behaviour (no Prefect server, no model), not a benchmark: starting
# Prefect's server alone took 16 s and more. It bounds the command's CPU time, which a machine busy with
# other work does not stretch as it stretches the wall clock; the wall clock gets a looser bound.
SECONDS = 10
WALL_SECONDS = 60
# Imported by a refusal, any of these fails the command: Prefect and model code never load before it.
NEVER_IMPORTED = ("prefect", "torch", "onnxruntime", "transformers", "bertopic")


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("poisoned")
    for name in NEVER_IMPORTED:
        (folder / f"{name}.py").write_text(f"raise ImportError('{name} imported before the refusal')\n")
    return folder


def refusal(poisoned: Path, *argv: str) -> str:
    """The one stderr line of `sori argv` that must be refused quickly with status 2."""
    env = {**os.environ, "PYTHONPATH": str(poisoned)}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "flows.cli", *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env)
    elapsed = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sori"), done.stderr
    assert cpu < SECONDS and elapsed < WALL_SECONDS, f"{cpu:.1f} s CPU, {elapsed:.1f} s wall"
    assert done.stdout == ""
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "password.yaml").write_text(
        yaml.safe_dump({"warehouse": {"url": f"postgresql://sori:{PASSWORD}@db/voc"}}), encoding="utf-8")
    (tmp_path / "taxonomy_missing.yaml").write_text("taxonomy: taxonomy.yaml\n", encoding="utf-8")
    (tmp_path / "typo.yaml").write_text("tagging:\n  similarty_threshold: 0.5\n", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("sources: [1, 2\nwarehouse: x\n", encoding="utf-8")
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump({"alerts": "rules.yaml", "taxonomy": str(TAXONOMY)}),
                                          encoding="utf-8")
    (tmp_path / "rules.yaml").write_text("rules: [{name: r, send_to: nowhere}]\n", encoding="utf-8")
    (tmp_path / "export.csv").write_text("번호,내용\na1,배송이 늦어요\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("argv, says", [
    (["--config", "{d}/password.yaml", "run"], "sori: config {d}/password.yaml: warehouse.url: the"),
    (["--config", "{d}/password.yaml", *CLASSIFY, "--out", "{d}/o.csv"],
     "sori: config {d}/password.yaml: warehouse.url: the warehouse URL in YAML has a password"),
    (["--config", "{d}/typo.yaml", "refit"], "tagging.similarty_threshold: Extra inputs are not permitted"),
    (["--config", "{d}/taxonomy_missing.yaml", "serve"], "sori: config {d}/taxonomy.yaml: No such file"),
    (["--config", "{d}/broken.yaml", "retag"], "invalid YAML at line 2"),
    (["--config", "{d}/missing.yaml", "backfill", "--start", "2026-10-01", "--end", "2026-10-07"],
     "sori: config {d}/missing.yaml: No such file or directory"),
    (["--config", "{d}/alerts.yaml", "run"], "sori: config {d}/rules.yaml: (top level): rule 'r' sends to"),
    (["run", "--source", "reviewz"], "sori: --source reviewz: no such source in the config (configured: "),
    (["retag", "--source", "reviews", "--source", "chat"], "sori: --source chat: no such source"),
    (["run", "--start", "2026-10-05", "--end", "2026-10-01"], "sori: --end 2026-10-01 is before --start"),
    (["backfill", "--start", "2026-10-05", "--end", "2026-10-01"], "sori: --end 2026-10-01 is before"),
    (["run", "--end", "2026-10-01"], "sori: --end needs --start"),
    (["run", "--start", "2026-02-30"], "sori run: argument --start: '2026-02-30' is not a date"),
    (["backfill", "--start", "2026-10-01", "--end", "2026-10-02", "--chunk-days", "0"], "not a positive"),
    ([*CLASSIFY, "--id-column", "nope", "--out", "{d}/o.csv"],
     "sori: --id-column 'nope' is not a column of {d}/export.csv; its columns: 번호, 내용"),
    (["classify", "{d}/export.csv", "--text-column", "text", "--out", "{d}/o.csv"],
     "sori: --text-column 'text' is not a column"),
    ([*CLASSIFY, "--out", "{d}/o.xlsx"],
     "sori: cannot tell the output format of '{d}/o.xlsx'"),
    (["classify", "{d}/nothing.csv", "--text-column", "내용", "--out", "{d}/o.csv"], "does not exist"),
    (["classify", "{d}/export.csv", "--out", "{d}/o.csv"], "required: --text-column"),
])
def test_a_refusal_is_one_quick_line(poisoned, files, argv, says):
    line = refusal(poisoned, *(arg.format(d=files) for arg in argv))
    assert says.format(d=files) in line
    assert PASSWORD not in line
    assert not (files / "o.csv").exists() and not (files / "o.xlsx").exists()


def test_a_background_open_that_fails_leaves_the_error_to_the_flow(tmp_path):
    """`sori run` opens the pipeline on a thread while Prefect starts; a config that cannot be opened
    there raises nothing on that thread, and the flow's own open raises it where Prefect records it."""
    from pipeline.app import Sori
    from pipeline.config import ConfigError

    missing = str(tmp_path / "missing.yaml")
    thread = Sori.open_in_background(missing)
    thread.join(timeout=60)
    assert not thread.is_alive()
    with pytest.raises(ConfigError, match="missing.yaml"):
        Sori.open(missing)
