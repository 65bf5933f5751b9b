#!/usr/bin/env bash
# Prints the URL of a running PostgreSQL, starting one when needed:
#   1. $DATABASE_URL, when set;
#   2. Docker Compose's "db" service, when a Docker engine answers;
#   3. a project-local cluster from this machine's initdb/pg_ctl.
# Idempotent: a second call reuses the running database. With an argument
# (a database name), that database is created if missing and its URL
# printed instead; with --fresh before the name, it is dropped and created
# empty. Progress goes to stderr; stdout is only the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/db.sh

fresh=false
if [ "${1:-}" = --fresh ]; then fresh=true; shift; fi
dbname=${1:-cointracker}

if [ -n "${DATABASE_URL:-}" ]; then
  if [ $# -eq 0 ]; then echo "$DATABASE_URL"; exit 0; fi
  ensure_database "$DATABASE_URL" "$dbname" "$fresh"
  url_with_db "$DATABASE_URL" "$dbname"
  exit 0
fi

if docker_engine; then
  say "using Docker Compose (service db)"
  docker compose up -d --wait db >&2
  url="postgres://cointracker:cointracker@127.0.0.1:${POSTGRES_PORT:-5432}/cointracker?sslmode=disable"
  ensure_database "$url" "$dbname" "$fresh"
  url_with_db "$url" "$dbname"
  exit 0
fi

local_cluster_up
url=$(local_cluster_url)
ensure_database "$url" "$dbname" "$fresh"
url_with_db "$url" "$dbname"
