#!/usr/bin/env bash
# Creates .venv with Python >= 3.11 and installs blinareg with its test extras.
# Idempotent: a second run only re-checks the install.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
py=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    py=$candidate; break
  fi
done
[ -n "$py" ] || { echo "blinareg needs Python 3.11 or newer" >&2; exit 1; }

# WeasyPrint (the PDF report) needs Pango; install it from the OS packages when missing.
if ! ldconfig -p 2>/dev/null | grep -q libpango-1.0; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Pango for the PDF report (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
  else
    echo "warning: libpango not found; the PDF report will be skipped (HTML/DOCX still written)" >&2
  fi
fi

# Spark (blinareg analyse --source spark:, tests/pushdown) needs Java 17 or newer; install a headless JRE when missing.
if ! command -v java >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing a headless Java runtime for Spark (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null
  else
    echo "warning: java not found; the Spark engine and its tests are unavailable" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.blinareg-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
