#!/usr/bin/env bash
# Side by side: the same `cinesis bench` scenarios against cinesis (durable, the default;
# durable without syncs, `--fsync never`, kinesalite's durability; and --in-memory), kinesalite and kinesis-local (LocalStack's engine, from npm), one
# fresh server per scenario and target, targets alternating within each scenario. Prints a
# line per run (records/s, latency, server and client CPU % and µs per record), then tables
# with ratios vs kinesalite (records/s, CPU µs per record, latency, resources) and writes
# docs/benchmarks.md (the "compare" part) and docs/benchmarks.png.
#
#   bench/compare.sh                       # everything, ~6 minutes on 2 cores
#   DURATION=5s TARGETS="cinesis-durable kinesalite" SCENARIOS="put-records" bench/compare.sh
#
# Environment: DURATION (10s), WARMUP (2s), CONNECTIONS (8), SHARDS (4), RECORD_BYTES (100),
# BATCH (500), PREFILL (200000 get-records prefill), KL_PREFILL (5000: kinesis-local is slow),
# STARTUP_RUNS (5), QUIET_WAIT (120: seconds to wait, before each run, for the machine to
# be at least QUIET_IDLE (80) percent idle, since other work on 2 cores skews everything), CINESIS (binary; default build/release/apps/cinesis/cinesis, built if
# missing), TARGETS, SCENARIOS, NO_DOCS=1 (do not touch docs/).
# Network: loopback only; every server is bound to 127.0.0.1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-8}
SHARDS=${SHARDS:-4}
RECORD_BYTES=${RECORD_BYTES:-100}
BATCH=${BATCH:-500}
PREFILL=${PREFILL:-200000}
KL_PREFILL=${KL_PREFILL:-5000}
STARTUP_RUNS=${STARTUP_RUNS:-5}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_IDLE=${QUIET_IDLE:-80}
CINESIS=${CINESIS:-$root/build/release/apps/cinesis/cinesis}
TARGETS=${TARGETS:-"cinesis-durable cinesis-nosync cinesis-memory kinesalite kinesis-local"}
SCENARIOS=${SCENARIOS:-"put-records put-record get-records mixed"}

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# ---- prerequisites ------------------------------------------------------------------------
if [ ! -x "$CINESIS" ]; then
  log "building cinesis (release, -j1)"
  cmake --preset release >/dev/null
  cmake --build "$root/build/release" -j1 --target cinesis
fi
if [ ! -x "$here/node_modules/.bin/kinesalite" ] || [ ! -f "$here/node_modules/kinesis-local/main.js" ]; then
  log "npm install kinesalite kinesis-local into bench/node_modules"
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
fi
PY=/usr/bin/python3
if [ "${NO_DOCS:-0}" != 1 ] && ! command -v gnuplot >/dev/null; then
  # The chart (drawn only with the docs) uses gnuplot (pngcairo). Debian's python3-matplotlib is not an option here: it
  # pulls libboost1.74-dev, which conflicts with the project's libboost1.81-dev.
  log "installing gnuplot-nox (Debian) for the chart"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null ||
    { $SUDO apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null; }
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_at_start=$(cut -d" " -f1-3 /proc/loadavg)
out="$here/results/compare-$stamp"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-compare.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# shellcheck source=bench/lib.sh
. "$here/lib.sh"


kinesalite_cmd() {  # port
  echo node -r "$here/loopback.cjs" "$here/node_modules/kinesalite/cli.js" --port "$1" \
    --createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 10000
}
kinesis_local_cmd() {  # port tls-port
  echo env KINESIS_MOCK_PLAIN_PORT="$1" KINESIS_MOCK_TLS_PORT="$2" CREATE_STREAM_DURATION=0ms \
    DELETE_STREAM_DURATION=0ms SHARD_LIMIT=10000 LOG_LEVEL=ERROR \
    KINESIS_MOCK_CERT_PATH="$here/node_modules/kinesis-local/server.json" \
    node -r "$here/loopback.cjs" "$here/node_modules/kinesis-local/main.js"
}

# Starts a fresh server for target $1; sets server_pid and endpoint.
start_server() {
  local target=$1 port
  case $target in
    cinesis-durable|cinesis-nosync|cinesis-memory)
      local mode=(--data-dir "$work/data-$RANDOM$RANDOM")
      [ "$target" = cinesis-nosync ] && mode+=(--fsync never)
      [ "$target" = cinesis-memory ] && mode=(--in-memory)
      "$CINESIS" serve --port 0 --create-stream-ms 0 --delete-stream-ms 0 --log-level warn "${mode[@]}" \
        >"$work/server.out" 2>"$work/server.err" &
      server_pid=$!
      for _ in $(seq 200); do
        port=$(sed -n 's/^cinesis listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
        [ -n "$port" ] && break
        sleep 0.05
      done ;;
    kinesalite)
      port=$(free_port)
      # shellcheck disable=SC2046
      $(kinesalite_cmd "$port") >"$work/server.out" 2>"$work/server.err" &
      server_pid=$! ;;
    kinesis-local)
      port=$(free_port)
      # shellcheck disable=SC2046
      $(kinesis_local_cmd "$port" "$(free_port)") >"$work/server.out" 2>"$work/server.err" &
      server_pid=$! ;;
  esac
  endpoint="http://127.0.0.1:$port"
  # Ready when it answers ListStreams.
  for _ in $(seq 600); do
    if curl -s -o /dev/null -w '%{http_code}' -X POST "$endpoint/" \
        -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
        -H 'X-Amz-Date: 20250101T000000Z' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00' \
        -d '{}' 2>/dev/null | grep -q 200; then
      return 0
    fi
    sleep 0.05
  done
  echo "compare.sh: $target did not come up; its stderr:" >&2
  cat "$work/server.err" >&2
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rm -rf "$work"/data-*
}

# ---- startup time and idle RSS, per target -------------------------------------------------
for target in $TARGETS; do
  log "startup: $target ($STARTUP_RUNS runs)"
  wait_quiet
  case $target in
    cinesis-durable)
      rm -rf "$work/startup-data"
      cmd=("$CINESIS" serve --port 0 --create-stream-ms 0 --data-dir "$work/startup-data"); ep=() ;;
    cinesis-nosync)
      rm -rf "$work/startup-data"
      cmd=("$CINESIS" serve --port 0 --create-stream-ms 0 --data-dir "$work/startup-data" --fsync never); ep=() ;;
    cinesis-memory) cmd=("$CINESIS" serve --port 0 --create-stream-ms 0 --in-memory); ep=() ;;
    kinesalite) p=$(free_port); read -r -a cmd <<<"$(kinesalite_cmd "$p")"; ep=(--endpoint "http://127.0.0.1:$p") ;;
    kinesis-local) p=$(free_port); read -r -a cmd <<<"$(kinesis_local_cmd "$p" "$(free_port)")"; ep=(--endpoint "http://127.0.0.1:$p") ;;
  esac
  "$CINESIS" bench --scenario startup --runs "$STARTUP_RUNS" --timeout 60s --label "$target" --json "${ep[@]}" \
    -- "${cmd[@]}" >"$out/$target-startup.json" 2>"$out/$target-startup.log" || {
      echo "compare.sh: startup of $target failed:" >&2; cat "$out/$target-startup.log" >&2; }
  rm -rf "$work/startup-data"
done

# ---- the load scenarios ----------------------------------------------------------------------
for scenario in $SCENARIOS; do
  for target in $TARGETS; do
    log "$scenario: $target"
    wait_quiet
    start_server "$target"
    sleep 1
    idle=$(rss_mb "$server_pid")
    extra=()
    if [ "$scenario" = get-records ]; then
      if [ "$target" = kinesis-local ]; then extra=(--records "$KL_PREFILL"); else extra=(--records "$PREFILL"); fi
    fi
    set +e
    "$CINESIS" bench --endpoint "$endpoint" --scenario "$scenario" --connections "$CONNECTIONS" --shards "$SHARDS" \
      --record-bytes "$RECORD_BYTES" --batch "$BATCH" --duration "$DURATION" --warmup "$WARMUP" --timeout 120s \
      --server-pid "$server_pid" --label "$target" --json "${extra[@]}" \
      >"$work/result.json" 2>"$out/$target-$scenario.log"
    rc=$?
    set -e
    after=$(rss_mb "$server_pid")
    stop_server
    if [ ! -s "$work/result.json" ]; then
      echo "compare.sh: $scenario against $target produced no result (exit $rc):" >&2
      tail -5 "$out/$target-$scenario.log" >&2
      continue
    fi
    "$PY" - "$work/result.json" "$idle" "$after" >"$out/$target-$scenario.json" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
r["idle_rss_mb"] = float(sys.argv[2])
r["after_rss_mb"] = float(sys.argv[3])
print(json.dumps(r))
EOF
    "$PY" "$here/report.py" line "$out/$target-$scenario.json" >&2
  done
done

# ---- machine, table, chart, docs ---------------------------------------------------------------
{
  echo "cores: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -sr)"
  echo "disk: $(df -h "${TMPDIR:-/tmp}" | awk 'NR==2 {print $1 " (" $2 ")"}')"
  echo "node: $(node --version)"
  echo "kinesalite: $(node -p "require('$here/node_modules/kinesalite/package.json').version")"
  echo "kinesis-local: $(node -p "require('$here/node_modules/kinesis-local/package.json').version")"
  echo "cinesis: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "date: $started to $(date -u '+%H:%M UTC')"
  echo "load average at start (other work on the machine): $load_at_start"
  echo "settings: $CONNECTIONS connections, $SHARDS shards, $RECORD_BYTES-byte records, PutRecords of $BATCH, $DURATION measured after $WARMUP warmup, get-records prefill $PREFILL (kinesis-local $KL_PREFILL)"
} >"$out/machine.txt"

docs_args=()
[ "${NO_DOCS:-0}" = 1 ] || docs_args=(--docs "$root/docs/benchmarks.md" --chart "$root/docs/benchmarks.png")
"$PY" "$here/report.py" compare "$out" "${docs_args[@]}"
echo "raw results: $out" >&2
