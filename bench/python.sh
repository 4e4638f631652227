#!/usr/bin/env bash
# The Python package's benchmark (issue 15): cinesis.Producer / cinesis.Consumer in one
# Python thread each vs boto3 loops written the way pynesis does it (and a bare read loop),
# against the same `cinesis serve --in-memory` on a free loopback port, in one run.
# Usage: bench/python.sh [RECORDS] [BOTO3_RECORDS] [PYTHON] [RUNS] [BOTO3_GET_RECORDS]
# (build: release preset). BOTO3_RECORDS are put one by one by the boto3 loop, which then
# reads BOTO3_GET_RECORDS (default 50000; the stream is topped up untimed).
# RUNS > 1: that many runs against the same server, then the min and median of each number.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}; nb=${2:-5000}; py=${3:-/usr/bin/python3}; runs=${4:-1}; ng=${5:-50000}
bin=${CINESIS_BIN:-build/release/apps/cinesis/cinesis}
if [ -z "${CINESIS_LIBRARY:-}" ]; then
  export CINESIS_LIBRARY=$(find build/release -name libcinesis.so -not -path '*/CMakeFiles/*' | head -1)
fi
log=$(mktemp)
"$bin" serve --host 127.0.0.1 --port 0 --in-memory > "$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
port=$(sed -n 's/^cinesis listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)
echo "python: $($py -c 'import platform; print(platform.python_version())'), library: $CINESIS_LIBRARY"
"$py" bench/python_bench.py "http://127.0.0.1:$port" "$n" "$nb" "$runs" "$ng"
