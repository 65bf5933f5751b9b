#!/usr/bin/env bash
# Opens psql on the project's database (starting it if needed).
# Extra arguments go to psql, e.g. scripts/db_client.sh -c 'TABLE users'.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/db.sh
url=$(scripts/start_db.sh)
pg_psql "$url" "$@"
