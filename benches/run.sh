#!/usr/bin/env bash
# Runs the Polyapi bench for 10k, 100k and 1M orders on SQLite and on PostgreSQL (when a
# URL is given) and keeps each run's output — the figures in README › Performance.
#
#   benches/run.sh [POSTGRES_URL]
#   benches/run.sh postgres://postgres@127.0.0.1:5432/test
#
# Output goes to target/bench-results/<backend>-<orders>.txt. SIZES and REQUESTS in the
# environment override the defaults ("10000 100000 1000000", 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=${1:-}
sizes=${SIZES:-10000 100000 1000000}
requests=${REQUESTS:-1000}
out=target/bench-results
mkdir -p "$out"
cargo bench --bench polyapi --no-run
for orders in $sizes; do
    cargo bench --bench polyapi -- --orders "$orders" --requests "$requests" --concurrency 4 \
        | tee "$out/sqlite-$orders.txt"
    if [ -n "$postgres" ]; then
        cargo bench --bench polyapi -- --orders "$orders" --requests "$requests" --concurrency 4 \
            --postgres "$postgres" | tee "$out/postgres-$orders.txt"
    fi
done
echo "results in $out"
