#!/usr/bin/env bash
# Many connections doing PutRecord at once (issue 19 item 5): `cinesis bench --scenario
# put-record` with 8, 100 and 1000 keep-alive connections against a fresh server, in memory and
# durable (fsync group commit). Up to 64 connections the load generator runs one thread per
# connection; above, --io-threads event loops. Prints one line per run (calls/s, p50/p99/max ms,
# errors, server CPU µs per request, server RSS) and keeps the JSON lines in
# bench/results/connections-<time>/.
#
#   bench/connections.sh                        # 8 100 1000 connections, memory and durable
#   CONNS="100 1000" RUNS=3 bench/connections.sh
#   MODES=memory IO_THREADS=2 bench/connections.sh
#
# Environment: CINESIS (default build/release/apps/cinesis/cinesis), CONNS (8 100 1000), MODES
# (memory durable), RUNS (1; runs alternate over the connection counts), DURATION (10s), WARMUP
# (2s), IO_THREADS (1), SHARDS (4).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
CINESIS=${CINESIS:-$root/build/release/apps/cinesis/cinesis}
CONNS=${CONNS:-8 100 1000}
MODES=${MODES:-memory durable}
RUNS=${RUNS:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
IO_THREADS=${IO_THREADS:-1}
SHARDS=${SHARDS:-4}
[ -x "$CINESIS" ] || { echo "connections.sh: no $CINESIS (build the release preset)" >&2; exit 1; }
# The server and the load generator each need a descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

OUT="$here/results/connections-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
{
  echo "cores: $(nproc)"
  echo "cinesis: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt" >&2

server_pid=
data_dir=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -n "$data_dir" ] && rm -rf "$data_dir"
  server_pid= data_dir=
}
trap cleanup EXIT

# Starts a fresh server in mode $1 (memory | durable), its log named $2; sets server_pid, port.
start_server() {
  local storage log
  if [ "$1" = memory ]; then
    storage=(--in-memory)
  else
    data_dir=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-conns-XXXXXX")
    storage=(--data-dir "$data_dir")
  fi
  log="$OUT/server-$2.log"
  : >"$log"  # created before the server starts: the port is read from it
  "$CINESIS" serve --host 127.0.0.1 --port 0 --create-stream-ms 0 --delete-stream-ms 0 \
    --log-level warn "${storage[@]}" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^cinesis listening on [^ ]*:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "connections.sh: the server did not start (see $log)" >&2
  exit 1
}

printf '%-8s %6s %10s %8s %8s %8s %7s %12s %9s\n' mode conns calls/s p50_ms p99_ms max_ms errors \
  server_us/req rss_mb >&2
for mode in $MODES; do
  for run in $(seq "$RUNS"); do
    for conns in $CONNS; do
      start_server "$mode" "$mode-$conns-$run"
      "$CINESIS" bench --endpoint "http://127.0.0.1:$port" --scenario put-record \
        --connections "$conns" --io-threads "$IO_THREADS" --shards "$SHARDS" \
        --duration "$DURATION" --warmup "$WARMUP" --server-pid "$server_pid" --json --quiet \
        --label "$mode" 2>"$OUT/bench-$mode-$conns-$run.txt" | tee -a "$OUT/results.jsonl" |
        python3 -c '
import json, sys
text = sys.stdin.read().strip()
if not text:
    sys.exit("%-8s %6s failed: see %s" % (sys.argv[1], sys.argv[2], sys.argv[3]))
r = json.loads(text)
print("%-8s %6d %10d %8.3f %8.3f %8.1f %7d %12s %9.1f" % (
    r["label"], r["connections"], r["calls_per_s"], r["p50_ms"], r["p99_ms"], r["max_ms"],
    r["errors"], "%.1f" % r.get("server_cpu_us_per_call", -1), r.get("server_rss_end_mb", -1)))
' "$mode" "$conns" "$OUT/bench-$mode-$conns-$run.txt" >&2 || true
      cleanup
    done
  done
done
echo "raw results: $OUT" >&2
