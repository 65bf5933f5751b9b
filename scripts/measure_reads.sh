#!/usr/bin/env bash
# Times the summary reads of issue 19 for user-2 and user-1 of a seeded
# database, one client, median of five after a warm-up request:
#   scripts/measure_reads.sh http://127.0.0.1:8000
# The server must run in dev auth mode (make run, or bin/cointracker serve
# with AUTH_MODE=dev on the bench database); figures go to docs/scaling.md.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/measure_reads.sh BASE_URL}
[[ -x bin/cointracker ]] || make --no-print-directory build

for user in user-2 user-1; do
  token=$(AUTH_MODE=dev bin/cointracker dev-token --subject "$user")
  for path in "/v1/balances" "/v1/addresses?limit=50" "/v1/balances/history?interval=month" \
              "/v1/balances/history?interval=day" "/v1/transactions?limit=50" "/v1/transactions/export.csv"; do
    get() { curl -sf -o "${1:-/dev/null}" -w '%{time_total}\n' -H "Authorization: Bearer $token" "$base$path"; }
    get >/dev/null
    median=$(for _ in 1 2 3 4 5; do get; done | sort -n | sed -n 3p)
    printf '%s %s %s ms' "$user" "$path" "$(awk -v t="$median" 'BEGIN { printf "%.1f", t * 1000 }')"
    if [[ $path == *export* ]]; then
      get /tmp/measure_reads.csv >/dev/null
      printf ' (%d rows, %d bytes)' "$(($(wc -l </tmp/measure_reads.csv) - 1))" "$(wc -c </tmp/measure_reads.csv)"
    fi
    echo
  done
done
