#!/usr/bin/env bash
# Turns the outputs of benches/run.sh (target/bench-results/burst-*.txt) into the burst
# table of README › Performance: one row per scenario, one column per database and size
# (and per database for the runs at a million orders that keep no rendered orders), each
# cell "p50 / p99 ms, throughput as % of /healthz of the same run".
#
#   benches/table.sh            # after benches/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - target/bench-results <<'EOF'
import re, sys, pathlib
results = pathlib.Path(sys.argv[1])
columns = []
for backend in ("sqlite", "postgres"):
    for orders in ("10000", "100000", "1000000"):
        path = results / f"burst-{backend}-{orders}.txt"
        if path.exists():
            columns.append((f"{'SQLite' if backend == 'sqlite' else 'PostgreSQL'} {int(orders):,}", path))
# Runs that keep no rendered orders: every page reads and renders all its orders.
for backend in ("sqlite", "postgres"):
    path = results / f"burst-cold-{backend}-1000000.txt"
    if path.exists():
        columns.append((f"{'SQLite' if backend == 'sqlite' else 'PostgreSQL'} 1,000,000, nothing kept", path))
row = re.compile(r"^(\S.*?)\s{2,}(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)\s+\S+\s+\S+\s+(\d+\.\d+)")
cells, order, writes = {}, [], {}
for name, path in columns:
    block = "alone"
    for line in path.read_text().splitlines():
        if line.startswith("while the storefront"):
            block = "writes"
        match = row.match(line)
        if match:
            scenario = f"{match[1]}" if block == "alone" else f"{match[1]} (writes)"
            if scenario not in order:
                order.append(scenario)
            cells[(scenario, name)] = f"{float(match[2]):.1f} / {float(match[3]):.1f} · {float(match[6]):.1f} %"
            if block == "writes":
                writes.setdefault(name, []).append(float(match[4]))
        if line.strip().startswith("writes:"):
            writes.setdefault(name + " writes", []).append(line.strip())
print("| scenario | " + " | ".join(name for name, _ in columns) + " |")
print("| --- |" + " --- |" * len(columns))
for scenario in order:
    print(f"| {scenario} | " + " | ".join(cells.get((scenario, name), "") for name, _ in columns) + " |")
print()
for name, _ in columns:
    if name not in writes:
        continue
    slowest = max(writes[name])
    refused = sum(int(re.search(r"(\d+) refused", w)[1]) for w in writes.get(name + " writes", []))
    rates = [re.search(r"([\d.]+) orders/s posted, ([\d.]+) shipped/s", w) for w in writes.get(name + " writes", [])]
    posted = sum(float(r[1]) for r in rates if r) / max(len(rates), 1)
    shipped = sum(float(r[2]) for r in rates if r) / max(len(rates), 1)
    print(f"- {name}: slowest GetOrder while writing {slowest:.0f} ms; writes refused: {refused}; "
          f"on average {posted:.0f} orders/s posted and {shipped:.0f} orders/s shipped meanwhile")
EOF
