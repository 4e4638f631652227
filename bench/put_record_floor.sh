#!/usr/bin/env bash
# PutRecord server CPU per request against the floor of a keep-alive HTTP answer.
#
#   bench/put_record_floor.sh [ROUNDS] [CINESIS_BIN]
#
# For ROUNDS (default 3) rounds, in turn: cinesis-floor-server (bench/floor_server.cc: one
# epoll loop per thread, a fixed answer per request, nothing parsed or stored) with 1 and 2
# threads, then `CINESIS_BIN serve --in-memory`; each driven by `cinesis-bench --scenario
# put-record` (8 connections, 4 shards, 100-byte records, 5 s after a 1 s warmup) with
# --server-pid. Prints: target calls/s server-µs-per-request client-µs-per-request p50-ms p99-ms.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=${2:-build/release/apps/cinesis/cinesis}
bench=build/release/apps/cinesis/cinesis-bench
floor=build/release/bench/cinesis-floor-server
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
measure() {  # label port pid
  "$bench" --endpoint "http://127.0.0.1:$2" --scenario put-record --connections 8 --shards 4 \
    --record-bytes 100 --duration 5s --warmup 1s --server-pid "$3" --json --quiet 2>/dev/null |
    python3 -c "import json,sys; j=json.loads(sys.stdin.read().splitlines()[-1]); print('$1', round(j['records_per_s']), round(j['server_cpu_us_per_record'], 1), round(j['client_cpu_us_per_record'], 1), round(j['p50_ms'], 3), round(j['p99_ms'], 3))"
}
for _ in $(seq "$rounds"); do
  for t in 1 2; do
    p=$(port)
    "$floor" "$p" "$t" >/dev/null &
    pid=$!
    sleep 0.3
    measure "floor-$t-thread" "$p" "$pid"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
  p=$(port)
  "$bin" serve --host 127.0.0.1 --port "$p" --in-memory --create-stream-ms 0 --log-level warn >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  measure cinesis-in-memory "$p" "$pid"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
