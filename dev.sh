#!/usr/bin/env bash
# Set up and run Journeymap.  ./dev.sh demo : install, then run the pipeline on the demo business (SQLite).
#                             ./dev.sh test : install with the dev tools, then lint, type-check and test.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
export PREFECT_SERVER_ANALYTICS_ENABLED=${PREFECT_SERVER_ANALYTICS_ENABLED:-false}

python_bin() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return
    fi
  done
  echo "Journeymap needs Python 3.11 (python3.11 or python3 on PATH)" >&2; exit 2
}

install() {  # install() EXTRA-SPEC STAMP: (re)install when pyproject.toml changed since the last install
  local spec=$1 stamp=$VENV/.installed-$2
  [ -x "$VENV/bin/python" ] || "$(python_bin)" -m venv "$VENV"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing Journeymap ($spec) into $VENV — the first time takes about a minute…" >&2
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$spec" >"$VENV/pip.log" 2>&1; then
      tail -n 30 "$VENV/pip.log" >&2; echo "pip install failed; the full log is $VENV/pip.log" >&2; exit 1
    fi
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)
    install . base
    shift
    exec "$VENV/bin/journeymap" run --demo "$@"
    ;;
  test)
    install ".[dev]" dev
    shift
    "$VENV/bin/ruff" check .
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo [--as-of YYYY-MM-DD] | ./dev.sh test [pytest args]" >&2; exit 2
    ;;
esac
