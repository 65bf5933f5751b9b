#!/usr/bin/env bash
# Fills the project's database with deterministic demo data (starting the
# database and migrating it if needed). Arguments go to `cointracker seed`:
#   scripts/add_fixtures.sh --scale bench
#   scripts/add_fixtures.sh --seed 7 --users 20 --addresses 200 --transactions 50000
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=$(scripts/start_db.sh)
export DATABASE_URL
make --no-print-directory build
bin/cointracker migrate up
exec bin/cointracker seed "$@"
