#!/usr/bin/env bash
# Instructions per record of the server's PutRecords and GetRecords paths (issue 19 item 2).
#
#   bench/callgrind_batch.sh [BIN] [RECORDS]
#
# Starts BIN (default build/release/apps/cinesis/cinesis) `serve --in-memory` under
# `valgrind --tool=callgrind` with instrumentation off, then with `cinesis-bench` ($BENCH, not
# under valgrind): creates a 4-shard stream, switches instrumentation on, puts RECORDS
# (default 100000) 100-byte records in PutRecords of 500 on 2 connections, dumps; switches it
# on again, drains the stream once from TRIM_HORIZON with GetRecords Limit 10000, dumps.
# Prints, per phase, the server's instructions (Ir, every thread) per record, and the
# inclusive share of the hot functions. Deterministic up to thread interleaving (±1%).
set -eu
BIN=${1:-build/release/apps/cinesis/cinesis}
RECORDS=${2:-100000}
BENCH=${BENCH:-build/release/apps/cinesis/cinesis-bench}
out=$(mktemp -d /tmp/callgrind_batch.XXXXXX)
. "$(dirname "$0")/lib.sh"
start_callgrind_server "$BIN" "$out"
ep=http://127.0.0.1:$port
common=(--endpoint "$ep" --connections 2 --shards 4 --record-bytes 100 --stream cg --keep-stream --quiet --json --timeout 600s)
# Create the stream (and warm the model) outside the measured window.
"$BENCH" "${common[@]}" --scenario put-records --batch 500 --records 500 >/dev/null 2>&1
phase() {  # name, then bench arguments
  local name=$1
  shift
  callgrind_control -i on $vpid >/dev/null 2>&1
  local json
  json=$("$BENCH" "${common[@]}" "$@" 2>/dev/null)
  callgrind_control -i off $vpid >/dev/null 2>&1
  callgrind_control -d "$name" $vpid >/dev/null 2>&1
  local f
  f=$(ls -t "$out"/cg.$vpid.* | head -1)
  local recs
  recs=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j.get("records") or j.get("records_total") or 0)' "$json")
  local ir
  ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  python3 -c 'import sys; ir=int(sys.argv[2]); n=int(sys.argv[3]); print(f"{sys.argv[1]}: {n} records, {ir} Ir, {ir/n:.0f} Ir/record")' "$name" "$ir" "$recs"
  callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '/file:function/,$p' | head -${TOP:-25} || true
}
phase put-records --scenario put-records --batch 500 --records "$RECORDS"
phase get-records --scenario get-records --get-limit 10000 --records 0 --duration 1ms
kill -TERM $vpid
wait $vpid 2>/dev/null || true
trap - EXIT
echo "callgrind files: $out"
