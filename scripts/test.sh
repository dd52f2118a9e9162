#!/usr/bin/env bash
# Sets up the environment and runs the whole test suite against SQLite and PostgreSQL.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
BLINAREG_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
export BLINAREG_TEST_POSTGRES_URL
export MPLBACKEND=Agg
workers=$(python3 -c 'import os; print(min(4, os.cpu_count() or 1))')
exec .venv/bin/python -m pytest -n "$workers" -p no:cacheprovider "$@"
