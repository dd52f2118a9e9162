#!/usr/bin/env bash
# Sets up the environment, builds the synthetic demo registry in SQLite and writes its full report.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
export MPLBACKEND=Agg
.venv/bin/blinareg demo --database demo/blinareg-demo.sqlite --report demo/report "$@"
