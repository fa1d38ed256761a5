#!/usr/bin/env bash
# Installs sori into .venv (the pinned CPU build of torch first, so nothing pulls a CUDA build),
# builds the offline encoder once, then runs the main job: the nightly flow over the bundled
# sample period into the embedded DuckDB warehouse. Safe to run again: installed pieces are kept.
#   bash setup.sh            install + run the sample period
#   bash setup.sh --no-run   install only (CI)
#   bash setup.sh --relock   install the newest releases pyproject.toml allows and write them to
#                            constraints.txt; run the tests and the evaluations before committing it
# Every other install takes the versions constraints.txt names: a new release of a dependency
# (umap-learn 0.5.12 moved topic layouts) reaches users and CI only through a reviewed relock.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.sori-installed"
TORCH_VERSION=2.13.0

RUN=1 RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --no-run) RUN=0 ;;
    --relock) RELOCK=1 RUN=0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# A relock starts from an empty environment, so the lock holds only what pyproject.toml pulls in.
if [ "$RELOCK" = 1 ]; then
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# Re-install only when the project's dependencies or their locked versions changed since the last install.
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$RELOCK" = 1 ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==$TORCH_VERSION"
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  {
    echo "# Versions setup.sh installs; written by 'bash setup.sh --relock' on Python $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')."
    # torch's local label (+cpu) names a build PyPI does not serve; ==X.Y.Z accepts it.
    "$VENV/bin/python" -m pip freeze --exclude-editable | sed 's/^torch==\([0-9.]*\)+.*/torch==\1/'
  } > constraints.txt
  echo "sori: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
elif [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt "torch==$TORCH_VERSION"
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[dev]"
  echo "$want" > "$STAMP"
else
  echo "sori: dependencies already installed"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/python" -m models.encoder build

if [ "$RUN" = 1 ]; then
  # The bundled sample data covers 2026-08-01 … 2026-10-31 (data/README.md).
  "$VENV/bin/sori" run --start 2026-08-01 --end 2026-10-31
fi
