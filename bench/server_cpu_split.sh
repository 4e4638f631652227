#!/usr/bin/env bash
# Server CPU per record split into user and system time, with context switches.
#
#   SC=SCENARIO MODE="SERVER ARGS" bench/server_cpu_split.sh LABEL BIN [EXTRA SERVER ARGS...]
#
# Starts `BIN serve` (default mode --in-memory; MODE replaces it, e.g. "--data-dir /tmp/d" or
# "--data-dir /tmp/d --fsync never"), warms it with a 1 s `cinesis-bench` run (stream
# creation), then measures a 5 s run of SC (default put-record; 8 connections, 4 shards,
# 100-byte records): the server's utime and stime from /proc/PID/stat and its voluntary and
# involuntary context switches (all threads) before and after, divided by the records.
# Prints: LABEL records/s, user, system and total µs per record, voluntary and involuntary
# context switches per record.
set -euo pipefail
label=$1
bin=$2
shift 2
bench=${BENCH:-$(dirname "$0")/../build/release/apps/cinesis/cinesis-bench}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$bin" serve --host 127.0.0.1 --port "$port" ${MODE:---in-memory} --create-stream-ms 0 \
  --log-level warn "$@" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.4
run() {
  "$bench" --endpoint "http://127.0.0.1:$port" --scenario "${SC:-put-record}" --connections 8 \
    --shards 4 --record-bytes 100 --duration "$1" --warmup 0s --json --quiet 2>/dev/null | tail -1
}
switches() {
  cat /proc/"$pid"/task/*/status |
    awk '/^voluntary_ctxt_switches/{v+=$2} /^nonvoluntary_ctxt_switches/{n+=$2} END{print v, n}'
}
run 1s >/dev/null
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
read -r v0 n0 < <(switches)
json=$(run 5s)
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
read -r v1 n1 < <(switches)
TCK=$(getconf CLK_TCK) python3 -c '
import json, sys
j = json.loads(sys.argv[1]); n = j["records"]; tck = float(__import__("os").environ["TCK"])
a = [int(x) for x in sys.argv[3:]]
u = (a[0] - a[1]) / tck * 1e6 / n; s = (a[2] - a[3]) / tck * 1e6 / n
rate = j["records_per_s"]
print(f"{sys.argv[2]:<12} {rate:>9.0f}/s user {u:.2f} sys {s:.2f} total {u + s:.2f} us/record"
      f"  vcs {(a[4] - a[5]) / n:.2f} ivcs {(a[6] - a[7]) / n:.2f}")
' "$json" "$label" "$u1" "$u0" "$s1" "$s0" "$v1" "$v0" "$n1" "$n0"
