#!/usr/bin/env bash
# Server CPU µs per record for PutRecords and GetRecords, builds interleaved (issue 19 item 2).
#
#   bench/cpu_per_record.sh LABEL=BIN [LABEL=BIN ...]
#
# For 3 rounds, for each BIN: a fresh `BIN serve --in-memory`, then `cinesis-bench`
# put-records (8 connections, 4 shards, 500 × 100 B, 5 s after a 1 s warmup), then a fresh
# server and get-records (prefill 200,000, 3 s of passes, Limit 10000), each with
# --server-pid. Prints: label scenario records/s server-µs-per-record.
# DURABLE=1: the servers keep their data in a fresh --data-dir (fsync) instead of in memory.
# BIN may carry `serve` options after the path ("off=build/.../cinesis --cached-tail-bytes 0").
# DURATION: put-records' measured time (5s); SCENARIOS: "put-records get-records".
set -u
DURATION=${DURATION:-5s}
SCENARIOS=${SCENARIOS:-put-records get-records}
BENCH=${BENCH:-build/release/apps/cinesis/cinesis-bench}
for round in 1 2 3; do
  for pair in "$@"; do
    label=${pair%%=*}
    read -ra cmd <<<"${pair#*=}"
    for sc in $SCENARIOS; do
      log=$(mktemp)
      data=
      if [ "${DURABLE:-0}" = 1 ]; then
        data=$(mktemp -d)
        storage=(--data-dir "$data")
      else
        storage=(--in-memory)
      fi
      "${cmd[0]}" serve --host 127.0.0.1 --port 0 "${storage[@]}" --create-stream-ms 0 "${cmd[@]:1}" \
        >"$log" 2>&1 &
      sp=$!
      port=
      for _ in $(seq 50); do
        port=$(grep -o 'listening on [^ ]*:[0-9]*' "$log" | grep -o '[0-9]*$')
        [ -n "$port" ] && break
        sleep 0.1
      done
      if [ "$sc" = put-records ]; then args=(--duration "$DURATION" --warmup 1s); else args=(--duration 3s --records 200000); fi
      "$BENCH" --endpoint "http://127.0.0.1:$port" --scenario "$sc" --connections 8 --shards 4 \
        --record-bytes 100 --batch 500 "${args[@]}" --server-pid "$sp" --json --quiet 2>/dev/null |
        python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print('$label', '$sc', j['records_per_s'], j.get('server_cpu_us_per_record'))"
      kill "$sp"
      wait "$sp" 2>/dev/null
      rm -f "$log"
      [ -n "$data" ] && rm -rf "$data"
    done
  done
done
