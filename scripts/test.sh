#!/usr/bin/env bash
# Sets up the environment and runs the whole test suite against SQLite and PostgreSQL.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
# The browser tests (tests/web/test_e2e_browser.py) drive Debian's chromium through Playwright's Python
# API; Playwright never downloads a browser of its own.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing chromium for the browser tests (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium not found; the browser tests will be skipped" >&2
  fi
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
BLINAREG_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
export BLINAREG_TEST_POSTGRES_URL
export MPLBACKEND=Agg
workers=$(python3 -c 'import os; print(min(4, os.cpu_count() or 1))')
exec .venv/bin/python -m pytest -n "$workers" -p no:cacheprovider "$@"
