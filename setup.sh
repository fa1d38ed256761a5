#!/usr/bin/env bash
# Installs sori into .venv (the pinned CPU build of torch first, so nothing pulls a CUDA build),
# builds the offline encoder once, then runs the main job: the nightly flow over the bundled
# sample period into the embedded DuckDB warehouse. Safe to run again: installed pieces are kept.
#   bash setup.sh            install + run the sample period
#   bash setup.sh --no-run   install only (CI)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.sori-installed"
TORCH_VERSION=2.13.0

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# Re-install only when the project's dependencies changed since the last install.
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  echo "$want" > "$STAMP"
else
  echo "sori: dependencies already installed"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" -m models.encoder build

if [ "${1:-}" != "--no-run" ]; then
  # The bundled sample data covers 2026-08-01 … 2026-10-31 (data/README.md).
  "$VENV/bin/sori" run --start 2026-08-01 --end 2026-10-31
fi
