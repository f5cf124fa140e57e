# Shared by scripts/run and scripts/test: make sure .venv exists and holds the project.
# Usage: source scripts/_venv.sh EXTRA   (EXTRA is "" or "[dev]")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
STAMP=".venv/.installed$1"
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "[setup] installing persona-evolve$1 into .venv (first time takes a few minutes)" >&2
  LOG=.venv/install.log
  if ! { .venv/bin/python -m pip install --quiet --upgrade pip && \
         .venv/bin/python -m pip install --quiet -e ".$1"; } >"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    echo "error: installing persona-evolve$1 failed (full log: $LOG)" >&2
    exit 1
  fi
  touch "$STAMP"
fi
export LITELLM_LOCAL_MODEL_COST_MAP=True
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
export RAY_AUTH_MODE=disabled
export RAY_USAGE_STATS_ENABLED=0
