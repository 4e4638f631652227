#!/usr/bin/env bash
# Scale: one durable cinesis server (the default: fsync group commit) on a fresh data
# directory, a 4-shard stream filled with PutRecords (500 × 100 B) to each step of STEPS
# (default 1M then 10M records). At each step: idle RSS, bytes on disk, PutRecord latency
# (5 s), GetRecords latency reading the stream from TRIM_HORIZON, and the time a restart
# takes to the first answered request. Writes the "scale" part of docs/benchmarks.md.
#
#   bench/scale.sh
#   STEPS="100000 1000000" NO_DOCS=1 bench/scale.sh
#
# Environment: STEPS ("1000000 10000000"), CONNECTIONS (8), SHARDS (4), CINESIS (binary),
# DATA_DIR (default: a new directory under $TMPDIR, removed at the end), QUIET_WAIT (120) and
# QUIET_IDLE (80): before each step's measurements, wait that long for the machine to be that
# idle, NO_DOCS=1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

STEPS=${STEPS:-"1000000 10000000"}
CONNECTIONS=${CONNECTIONS:-8}
SHARDS=${SHARDS:-4}
CINESIS=${CINESIS:-$root/build/release/apps/cinesis/cinesis}
PY=/usr/bin/python3

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

if [ ! -x "$CINESIS" ]; then
  log "building cinesis (release, -j1)"
  cmake --preset release >/dev/null
  cmake --build "$root/build/release" -j1 --target cinesis
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results/scale-$stamp"
mkdir -p "$out"
own_data=0
if [ -z "${DATA_DIR:-}" ]; then
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-scale.XXXXXX")
  own_data=1
fi
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ "$own_data" = 1 ] && rm -rf "$DATA_DIR"
}
trap cleanup EXIT

QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_IDLE=${QUIET_IDLE:-80}
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

serve_args=(serve --port 0 --create-stream-ms 0 --log-level warn --data-dir "$DATA_DIR")

start_server() {
  "$CINESIS" "${serve_args[@]}" >"$out/server.out" 2>>"$out/server.err" &
  server_pid=$!
  local port=""
  for _ in $(seq 600); do
    port=$(sed -n 's/^cinesis listening on .*:\([0-9]*\)$/\1/p' "$out/server.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "scale.sh: server did not start" >&2; cat "$out/server.err" >&2; exit 1; }
  endpoint="http://127.0.0.1:$port"
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

bench() {  # name, then cinesis bench arguments
  local name=$1
  shift
  "$CINESIS" bench --endpoint "$endpoint" --connections "$CONNECTIONS" --shards "$SHARDS" --stream scale \
    --keep-stream --server-pid "$server_pid" --json "$@" >"$out/$name.json" 2>"$out/$name.log" || {
      echo "scale.sh: $name ended with an error:" >&2; tail -3 "$out/$name.log" >&2; }
}

{
  echo "cores: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -sr)"
  echo "data dir: $(df -h "$DATA_DIR" | awk 'NR==2 {print $1 " (" $2 ", " $4 " free)"}')"
  echo "cinesis: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start (other work on the machine): $(cut -d" " -f1-3 /proc/loadavg)"
} >"$out/machine.txt"

start_server
stored=0
for step in $STEPS; do
  fill=$((step - stored))
  if [ "$fill" -gt 0 ]; then
    log "fill to $step records (+$fill)"
    bench "fill-$step" --scenario put-records --records "$fill" --duration 3600s --timeout 3600s
    stored=$step
  fi
  log "step $step: idle RSS, PutRecord, GetRecords, restart"
  sleep 1
  wait_quiet
  rss=$(rss_mb "$server_pid")
  disk=$(du -sm "$DATA_DIR" | cut -f1)
  bench "put-record-$step" --scenario put-record --duration 5s
  bench "get-records-$step" --scenario get-records --records 0 --duration 5s --timeout 120s
  stop_server
  "$CINESIS" bench --scenario startup --runs 3 --timeout 120s --json -- "$CINESIS" "${serve_args[@]}" \
    >"$out/restart-$step.json" 2>"$out/restart-$step.log" || { echo "scale.sh: restart failed" >&2; cat "$out/restart-$step.log" >&2; }
  start_server
  "$PY" - "$out" "$step" "$rss" "$disk" >"$out/step-$step.json" <<'EOF'
import json, os, sys
out, step, rss, disk = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def load(name):
    p = os.path.join(out, name + ".json")
    try:
        return json.loads(open(p).read().strip().splitlines()[-1])
    except Exception:
        return {}
fill, pr, gr, rs = load(f"fill-{step}"), load(f"put-record-{step}"), load(f"get-records-{step}"), load(f"restart-{step}")
g = gr.get("ops", {}).get("GetRecords", {})
print(json.dumps({
    "stored": step,
    "fill_rate": fill.get("records_per_s"),
    "rss_mb": rss,
    "disk_mb": disk,
    "put_record_p50": pr.get("p50_ms"), "put_record_p99": pr.get("p99_ms"),
    "put_records_p50": fill.get("p50_ms"), "put_records_p99": fill.get("p99_ms"),
    "get_p50": g.get("p50_ms"), "get_p99": g.get("p99_ms"), "get_max": g.get("max_ms"),
    "get_rate": gr.get("records_per_s", 0),
    "restart_ms": rs.get("ready_ms", {}).get("median"),
    "restart_rss_mb": rs.get("rss_mb", {}).get("median", -1),
}))
EOF
  cat "$out/step-$step.json" >&2
done
stop_server

docs_args=()
[ "${NO_DOCS:-0}" = 1 ] || docs_args=(--docs "$root/docs/benchmarks.md")
"$PY" "$here/report.py" scale "$out" "${docs_args[@]}"
echo "raw results: $out" >&2
