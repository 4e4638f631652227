#!/usr/bin/env bash
# Instructions and allocations per PutRecord in the server (issue 19 item 3).
#
#   bench/callgrind_put_record.sh [BIN] [REQUESTS] [CONNECTIONS]
#
# Starts BIN (default build/release/apps/cinesis/cinesis) `serve --in-memory` under
# `valgrind --tool=callgrind` with instrumentation off; `cinesis-bench` ($BENCH, not under
# valgrind) creates a 4-shard stream and warms up (500 PutRecords), then instrumentation is
# switched on for REQUESTS (default 20000) PutRecords of 100 bytes on CONNECTIONS (default 8)
# keep-alive connections, and dumped. Prints the server's instructions (Ir, every thread) per
# request, calls to malloc per request, and the inclusive share of the hot functions (TOP,
# default 40). Deterministic up to thread interleaving (±1%).
set -eu
BIN=${1:-build/release/apps/cinesis/cinesis}
REQUESTS=${2:-20000}
CONNS=${3:-8}
BENCH=${BENCH:-build/release/apps/cinesis/cinesis-bench}
out=$(mktemp -d /tmp/callgrind_put_record.XXXXXX)
. "$(dirname "$0")/lib.sh"
start_callgrind_server "$BIN" "$out"
common=(--endpoint "http://127.0.0.1:$port" --connections "$CONNS" --shards 4 --record-bytes 100
  --stream cg --keep-stream --quiet --json --timeout 600s --scenario put-record)
"$BENCH" "${common[@]}" --records 500 >/dev/null 2>&1
callgrind_control -i on $vpid >/dev/null 2>&1
json=$("$BENCH" "${common[@]}" --records "$REQUESTS" 2>/dev/null)
callgrind_control -i off $vpid >/dev/null 2>&1
callgrind_control -d put-record $vpid >/dev/null 2>&1
f=$(ls -t "$out"/cg.$vpid.* | head -1)
n=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1].splitlines()[-1]); print(j.get("records") or j.get("records_total") or 0)' "$json")
ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
mallocs=$(python3 "$(dirname "$0")/callgrind_calls.py" "$f" malloc | awk '{print $NF}')
python3 -c 'import sys; ir,n,m=int(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]); print(f"put-record: {n} requests, {ir} Ir, {ir/n:.0f} Ir/request, {m/n:.2f} malloc/request")' "$ir" "$n" "$mallocs"
callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '/file:function/,$p' | head -${TOP:-40} || true
kill -TERM $vpid
wait $vpid 2>/dev/null || true
trap - EXIT
echo "callgrind files: $out"
