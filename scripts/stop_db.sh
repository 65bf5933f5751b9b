#!/usr/bin/env bash
# Stops the database start_db.sh started (the local cluster or Docker
# Compose's db service). Data is kept; `make clean` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/db.sh

if [ -n "${DATABASE_URL:-}" ]; then
  echo "stop_db: DATABASE_URL is set; that database is not ours to stop" >&2
  exit 0
fi
if docker_engine; then
  docker compose stop db >&2
  exit 0
fi
local_cluster_down
