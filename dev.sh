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
  screenshot)  # the README's picture of the map: the demo as of 2026-09-30, rendered, shot in headless Chromium
    install . base
    command -v chromium >/dev/null 2>&1 || { echo "the screenshot needs Chromium (apt-get install -y chromium)" >&2; exit 2; }
    work=$(mktemp -d)
    export JOURNEY_DATABASE_URL="sqlite:///$work/demo.db" JOURNEY_OUTBOX_DIR="$work/outbox"
    "$VENV/bin/journeymap" run --demo --as-of 2026-09-30 >/dev/null
    "$VENV/bin/journeymap" map --format html --as-of 2026-09-30 --out "$work/journey-map.html"
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1500,1900 \
      --virtual-time-budget=15000 --screenshot="$PWD/reports/journey-map.png" "file://$work/journey-map.html" 2>/dev/null
    rm -rf "$work"
    echo "wrote reports/journey-map.png"
    ;;
  *)
    echo "usage: ./dev.sh demo [--as-of YYYY-MM-DD] | ./dev.sh test [pytest args] | ./dev.sh screenshot" >&2; exit 2
    ;;
esac
