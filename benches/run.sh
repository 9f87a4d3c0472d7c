#!/usr/bin/env bash
# Runs the flash-sale bench for 10k, 100k and 1M orders and the intake bench on SQLite
# and on PostgreSQL (when a URL is given), keeping each run's output — the figures in
# README › Performance.
#
#   benches/run.sh [POSTGRES_URL]
#   benches/run.sh postgres://postgres@127.0.0.1:5432/test
#
# Output goes to target/bench-results/<shape>-<backend>-<orders>.txt. SIZES, REQUESTS,
# INTAKE and COLD in the environment override the defaults ("10000 100000 1000000", 1000,
# 100000, 1000000; COLD= skips the runs that keep no rendered orders). A thousand calls
# per scenario make its p99 the tenth slowest call rather than the fourth.
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=${1:-}
sizes=${SIZES:-10000 100000 1000000}
requests=${REQUESTS:-1000}
intake=${INTAKE:-100000}
out=target/bench-results
mkdir -p "$out"
cargo bench --bench polyapi --no-run
run() {  # run NAME ARGS...
    local name=$1
    shift
    cargo bench --bench polyapi -- "$@" | tee "$out/$name.txt"
}
for orders in $sizes; do
    run "burst-sqlite-$orders" --orders "$orders" --requests "$requests" --concurrency 4
    if [ -n "$postgres" ]; then
        run "burst-postgres-$orders" --orders "$orders" --requests "$requests" --concurrency 4 \
            --postgres "$postgres"
    fi
done
# GetOrder alone at a million orders with no rendered orders kept: every page reads and
# renders all its orders, as the first read of each order does.
cold=${COLD-1000000}
if [ -n "$cold" ]; then
    run "burst-cold-sqlite-$cold" --orders "$cold" --requests "$requests" --concurrency 4 \
        --no-writes --only "30/page" --rendered-orders-mib 0
    if [ -n "$postgres" ]; then
        run "burst-cold-postgres-$cold" --orders "$cold" --requests "$requests" --concurrency 4 \
            --no-writes --only "30/page" --rendered-orders-mib 0 --postgres "$postgres"
    fi
fi
run "intake-sqlite-$intake" --shape intake --orders "$intake"
if [ -n "$postgres" ]; then
    run "intake-postgres-$intake" --shape intake --orders "$intake" --postgres "$postgres"
fi
echo "results in $out"
