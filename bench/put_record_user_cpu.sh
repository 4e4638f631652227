#!/usr/bin/env bash
# PutRecord server CPU per request split into user and system time.
#
#   bench/put_record_user_cpu.sh [CINESIS_BIN] [ROUNDS]
#
# For ROUNDS (default 3) rounds: a fresh `CINESIS_BIN serve --in-memory` (default
# build/release/apps/cinesis/cinesis), driven by `cinesis-bench --scenario put-record`
# (8 connections, 4 shards, 100-byte records, 5 s, no warm-up: stream creation included, a few
# requests); the server's utime and stime from /proc/PID/stat before and after the whole run,
# divided by the requests acknowledged. User time is far steadier than the total on a busy
# machine (the kernel's share moves with the scheduling of the client's threads).
# Prints: requests, user µs/request, system µs/request, calls/s.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/release/apps/cinesis/cinesis}
rounds=${2:-3}
bench=build/release/apps/cinesis/cinesis-bench
tck=$(getconf CLK_TCK)
for _ in $(seq "$rounds"); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --host 127.0.0.1 --port "$port" --in-memory --create-stream-ms 0 --log-level warn \
    >/dev/null 2>&1 &
  pid=$!
  sleep 0.5
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  json=$("$bench" --endpoint "http://127.0.0.1:$port" --scenario put-record --connections 8 \
    --shards 4 --record-bytes 100 --duration 5s --warmup 0s --json --quiet 2>/dev/null | tail -1)
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  python3 -c '
import json, sys
j = json.loads(sys.argv[1]); n = j["records"]; rate = j["records_per_s"]; tck = int(sys.argv[2])
u = (int(sys.argv[3]) - int(sys.argv[4])) / tck; s = (int(sys.argv[5]) - int(sys.argv[6])) / tck
print(f"{n} requests, user {u * 1e6 / n:.2f} us/request, system {s * 1e6 / n:.2f} us/request, {rate:.0f} calls/s")
' "$json" "$tck" "$u1" "$u0" "$s1" "$s0"
done
