#!/usr/bin/env bash
# Prints a SQLAlchemy URL of a PostgreSQL server the tests may use, starting one when none answers.
# Order: $BLINAREG_TEST_POSTGRES_URL if set; the server on 127.0.0.1:5432 (trust auth, database test);
# otherwise a private throw-away cluster on port 55432 (installing PostgreSQL from apt when missing).
set -euo pipefail
if [ -n "${BLINAREG_TEST_POSTGRES_URL:-}" ]; then echo "$BLINAREG_TEST_POSTGRES_URL"; exit 0; fi

answers() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$1"; }

if answers 5432 && psql -h 127.0.0.1 -p 5432 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  echo "postgresql+psycopg://postgres@127.0.0.1:5432/test"; exit 0
fi
# A Debian cluster that is installed but stopped.
if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  sleep 1
  if answers 5432 && psql -h 127.0.0.1 -p 5432 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    echo "postgresql+psycopg://postgres@127.0.0.1:5432/test"; exit 0
  fi
fi
# Our own cluster with trust auth.
port=55432
if ! answers $port; then
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$initdb" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      initdb=$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)
    else
      echo "no PostgreSQL available and cannot install one" >&2; exit 1
    fi
  fi
  bindir=$(dirname "$initdb")
  data=/tmp/blinareg-pg-data
  runas=""
  if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || useradd -r -m postgres; runas="runuser -u postgres --"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"; mkdir -p "$data"; [ -z "$runas" ] || chown postgres "$data"
    $runas "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null
  fi
  $runas "$bindir/pg_ctl" -D "$data" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -l /tmp/blinareg-pg.log -w start >/dev/null
  "$bindir/psql" -h 127.0.0.1 -p $port -U postgres -d postgres -Atc "select 1 from pg_database where datname='test'" | grep -q 1 \
    || "$bindir/createdb" -h 127.0.0.1 -p $port -U postgres test
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$port/test"
