#!/usr/bin/env bash
# Create .venv (Python 3.11) and install Winnow with pinned dependencies. Idempotent:
# a stamp of pyproject.toml + constraints.txt skips the install when nothing changed.
#   scripts/setup.sh          runtime + dev dependencies
#   scripts/setup.sh --test   also Debian's chromium + chromium-driver for browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PY="$cand"; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.winnow-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv (about 2 minutes the first time)"
  # (pip's notes about unused local index locations on some machines are filtered out)
  .venv/bin/python -m pip install -q --upgrade "pip==26.3" 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]" 2>&1 | { grep -v "is ignored: it is neither" || true; } >&2
  echo "$want" > "$stamp"
fi

# The Data Docs' CSS and JavaScript (winnow/data_docs_static.py), from the npm registry.
gx=.venv/share/winnow-gx-static
gx_want="$(sha256sum scripts/gx-static/package.json | cut -d' ' -f1)"
if [ "$(cat "$gx/.installed" 2>/dev/null)" != "$gx_want" ]; then
  if command -v npm >/dev/null; then
    echo "setup: installing the Data Docs' CSS and JavaScript with npm (offline rendering)"
    rm -rf "$gx" && mkdir -p "$gx" && cp scripts/gx-static/package.json "$gx/"
    (cd "$gx" && npm install --no-package-lock --no-audit --no-fund --ignore-scripts --legacy-peer-deps --loglevel=error >/dev/null)
    echo "$gx_want" > "$gx/.installed"
  else
    echo "setup: npm not found: Great Expectations Data Docs will load their styles from CDNs" >&2
  fi
fi

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null; then
  echo "setup: installing Debian's chromium and chromium-driver for the browser tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "setup: ready (.venv)"
