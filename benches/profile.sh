#!/usr/bin/env bash
# Profiles bench scenarios with perf and splits the CPU time of a request into the
# database (SQLite in-process, or the PostgreSQL server processes), serialisation,
# request parsing and signing, and the HTTP framework and runtime. The load generator's
# own threads are left out.
#
#   benches/profile.sh SCENARIO [bench options...]
#   benches/profile.sh "30/page, 1 h, all, page 1" --orders 1000000 --no-writes
#   benches/profile.sh "SyncStock" --shape steady --postgres postgres://postgres@127.0.0.1:5432/test
#
# Needs perf (linux-perf) and python3, and permission to profile the whole system
# (root, or kernel.perf_event_paranoid <= 0) so PostgreSQL's time is seen too.
set -euo pipefail
scenario=${1:?usage: benches/profile.sh SCENARIO [bench options...]}
shift
cd "$(dirname "$0")/.."

bench=$(cargo bench --bench polyapi --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "polyapi" and m.get("executable"):
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/control"

# Recording starts disabled; the bench enables it once seeding is done.
POLYMALL_BENCH_PERF_CTL="$work/control" perf record -a -F 499 --call-graph dwarf,8192 \
    -D -1 --control "fifo:$work/control" -o "$work/perf.data" -q -- \
    "$bench" --only "$scenario" "$@" | tee "$work/bench.out"

# Symbols only for the bench's server process and for PostgreSQL (other processes of a busy
# machine would take longer to resolve than the run, and may run polymall too), without
# inlined frames (addr2line per frame is slow). PostgreSQL's processes cannot be told apart
# from those serving others on a shared server: profile on a quiet one.
server=$(grep -o 'polymall serve pid [0-9]*' "$work/bench.out" | head -1 | awk '{print $4}')
{
    perf script -i "$work/perf.data" -F comm,tid,ip,sym --no-inline --pid "$server" 2>/dev/null
    perf script -i "$work/perf.data" -F comm,tid,ip,sym --no-inline --comms postgres 2>/dev/null
} | python3 -c '
import re, sys
# The first frame from the leaf that names a part decides where a sample goes.
parts = [
    ("database", re.compile(r"sqlite3|diesel::|r2d2|libpq|^pq|^PQ|polymall::db::|polymall::shop::(orders|products|stock|shipments|refunds|pickup|shops)::|polymall::outbox::")),
    ("serialisation", re.compile(r"serde_json::|serde::|polymall::polyapi::wire|polymall::polyapi::envelope|polymall::http::polyapi::render|polymall::time|chrono::format|ryu::|itoa::")),
    ("parsing and signing", re.compile(r"serde_urlencoded|form_urlencoded|polymall::polyapi::(sign|biz|endpoint|credentials)|md5|md_5|percent_encoding")),
    ("HTTP framework and runtime", re.compile(r"actix|tokio::|mio::|hyper|http::|h1|bytes::|tracing|futures|std::sys::net|polymall::http::")),
]
totals, samples = {}, 0
def flush(comm, frames):
    global samples
    if comm is None:
        return
    if comm.startswith("postgres"):
        part = "database"
    elif comm.startswith(("actix", "tokio", "polymall", "r2d2")):
        part = "other (allocator, kernel, libc)"
        for frame in frames:
            match = next((name for name, pattern in parts if pattern.search(frame)), None)
            if match:
                part = match
                break
        else:
            # The blocking pool runs nothing but database work (Database::run); its
            # samples that did not unwind are allocation and locking inside it.
            if comm.startswith("tokio"):
                part = "database"
    else:
        # The load generator, perf itself and the rest of the machine.
        return
    totals[part] = totals.get(part, 0) + 1
    samples += 1
comm, frames = None, []
for line in sys.stdin:
    if not line.strip():
        flush(comm, frames); comm, frames = None, []
    elif line.startswith("\t"):
        frames.append(line.strip())
    else:
        # "COMM TID", the name right-aligned and possibly with spaces.
        flush(comm, frames); comm, frames = " ".join(line.split()[:-1]), []
flush(comm, frames)
print(f"{samples} samples of the server and database")
for name, count in sorted(totals.items(), key=lambda item: -item[1]):
    print(f"  {name:<32} {100 * count / max(samples, 1):5.1f} %")
'
