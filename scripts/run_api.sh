#!/usr/bin/env bash
# Brings the API up locally: database, migrations, demo data when the
# database is empty, then the server on http://localhost:8000 (docs at
# /docs/index.html) in dev auth mode.
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(scripts/start_db.sh)
export DATABASE_URL
export AUTH_MODE=${AUTH_MODE:-dev}
export HTTP_ADDR=${HTTP_ADDR:-127.0.0.1:8000}
export LOG_FORMAT=${LOG_FORMAT:-text}
# The demo data is made up: a real provider would find none of it, so no
# sync runs unless asked for (SYNC_WORKERS=4 CHAIN_PROVIDER_URL=...).
export SYNC_WORKERS=${SYNC_WORKERS:-0}

make --no-print-directory build
bin/cointracker migrate up
bin/cointracker seed --scale demo --if-empty
exec bin/cointracker serve
