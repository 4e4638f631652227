#!/usr/bin/env bash
# Durable PutRecord latency against the fsync latency (issue 19): `cinesis bench --scenario
# put-record` (8 connections, 4 shards, 100-byte records) against a fresh `cinesis serve
# --data-dir` (fsync on) per run, alternating between the builds given, plus the server's own
# fsync histogram (cinesis_fsync_duration_seconds, /_cinesis/metrics) over the same run and a
# direct fdatasync probe of the device (130-byte appends to 4 files, one thread each, as the
# server's 4 logs; then two threads per file, each syncing while the other's sync may be in
# flight: what overlapping syncs of one log could reach). One line per run; JSON lines and
# logs in bench/results/durable-<time>/.
#
#   bench/durable_latency.sh                                   # build/release only, 3 runs
#   RUNS=5 bench/durable_latency.sh /tmp/before/cinesis build/release/apps/cinesis/cinesis
#
# Each cinesis needs its cinesis-bench next to it. Environment: RUNS (3), DURATION (5s), WARMUP
# (2s), CONNS (8), SHARDS (4), TMPDIR (the data directories' parent: the device measured).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
[ $# -gt 0 ] || set -- "$root/build/release/apps/cinesis/cinesis"
RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-8}
SHARDS=${SHARDS:-4}
OUT="$here/results/durable-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
{
  echo "cores: $(nproc)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
  for b in "$@"; do echo "binary: $b"; done
} | tee "$OUT/machine.txt" >&2

server_pid=
data_dir=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$data_dir" ] && rm -rf "$data_dir"
  server_pid= data_dir=
}
trap cleanup EXIT

# The fdatasync latency of the device: p50/p99 in ms.
probe() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-probe-XXXXXX")
  python3 - "$d" <<'PY'
import os, sys, threading, time
d = sys.argv[1]; lat = []; lock = threading.Lock()
def run(i):
    fd = os.open(os.path.join(d, str(i)), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    mine = []
    for _ in range(500):
        os.write(fd, b"x" * 130)
        t = time.perf_counter(); os.fdatasync(fd); mine.append(time.perf_counter() - t)
    os.close(fd)
    with lock: lat.extend(mine)
for per_file in (1, 2):
    lat = []
    ts = [threading.Thread(target=run, args=(i % 4,)) for i in range(4 * per_file)]
    [t.start() for t in ts]; [t.join() for t in ts]
    lat.sort()
    print("probe fdatasync (4 files, %d threads): p50 %.3f ms p99 %.3f ms" % (
        4 * per_file, lat[len(lat)//2]*1e3, lat[len(lat)*99//100]*1e3))
PY
  rm -rf "$d"
}

fsync_metrics() { curl -s "http://127.0.0.1:$port/_cinesis/metrics" | grep '^cinesis_fsync_duration_seconds' || true; }

printf '%-28s %9s %7s %7s %10s %9s %9s %9s\n' binary calls/s p50_ms p99_ms server_us fsyncs fsync_p50 fsync_mean >&2
for run in $(seq "$RUNS"); do
  probe >&2
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    data_dir=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-durable-XXXXXX")
    log="$OUT/server-$i-$run.log"
    : >"$log"
    "$bin" serve --host 127.0.0.1 --port 0 --create-stream-ms 0 --delete-stream-ms 0 \
      --log-level warn --data-dir "$data_dir" >"$log" 2>&1 &
    server_pid=$!
    port=
    for _ in $(seq 100); do
      port=$(sed -n 's/^cinesis listening on [^ ]*:\([0-9]*\).*/\1/p' "$log")
      [ -n "$port" ] && break
      sleep 0.05
    done
    [ -n "$port" ] || { echo "durable_latency.sh: $bin did not start (see $log)" >&2; exit 1; }
    fsync_metrics >"$OUT/fsync-before-$i-$run.txt"
    "$bin" bench --endpoint "http://127.0.0.1:$port" --scenario put-record \
      --connections "$CONNS" --shards "$SHARDS" --record-bytes 100 --duration "$DURATION" \
      --warmup "$WARMUP" --server-pid "$server_pid" --json --quiet --label "$i" \
      2>"$OUT/bench-$i-$run.txt" >"$OUT/bench-$i-$run.json" || true
    fsync_metrics >"$OUT/fsync-after-$i-$run.txt"
    cat "$OUT/bench-$i-$run.json" >>"$OUT/results.jsonl"
    python3 - "$bin" "$OUT/bench-$i-$run.json" "$OUT/fsync-before-$i-$run.txt" \
      "$OUT/fsync-after-$i-$run.txt" <<'PY' >&2 || true
import json, re, sys
binary, res, before, after = sys.argv[1:]
r = json.loads(open(res).read().strip())
def hist(path):
    b, s, n = {}, 0.0, 0
    for line in open(path):
        m = re.match(r'cinesis_fsync_duration_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m: b[float(m.group(1))] = float(m.group(2))
        elif line.startswith("cinesis_fsync_duration_seconds_sum"): s = float(line.split()[1])
        elif line.startswith("cinesis_fsync_duration_seconds_count"): n = float(line.split()[1])
    return b, s, n
b0, s0, n0 = hist(before); b1, s1, n1 = hist(after)
n = n1 - n0
# The median, interpolated linearly within its bucket (as Prometheus' histogram_quantile).
p50 = float("nan"); lo = 0.0; prev = 0.0
for le in sorted(b1):
    c = b1[le] - b0.get(le, 0)
    if n > 0 and c >= n / 2:
        p50 = lo + (le - lo) * (n / 2 - prev) / max(c - prev, 1) if le != float("inf") else lo
        break
    lo, prev = le, c
# fsyncs: over warm-up and run; fsync_p50 and fsync_mean in ms.
print("%-28s %9d %7.3f %7.3f %10.1f %9d %9.3f %9.3f" % (
    binary[-28:], r["calls_per_s"], r["p50_ms"], r["p99_ms"], r.get("server_cpu_us_per_call", -1),
    n, p50 * 1e3, (s1 - s0) / n * 1e3 if n else float("nan")))
PY
    cleanup
  done
done
echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt" >&2
echo "raw results: $OUT" >&2
