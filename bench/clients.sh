#!/usr/bin/env bash
# Producer and consumer: the libcinesis Producer and Consumer (cinesis-client-bench) against
# one durable cinesis server (the default: fsync group commit) on a fresh data directory.
# Scenarios: producer records/s and CPU, consumer records/s and CPU, put -> consume latency
# by polling (GetRecords) and by enhanced fan-out (SubscribeToShard push). Writes the
# "clients" part of docs/benchmarks.md.
#
#   bench/clients.sh
#   DURATION=5 NO_DOCS=1 bench/clients.sh
#
# Environment: DURATION (10 s of producer load and of latency measurement), RECORDS
# (200000 for the consumer), RATE (1000 records/s during the latency runs), SHARDS (4),
# RECORD_BYTES (100), QUIET_WAIT/QUIET_IDLE (see compare.sh), NO_DOCS=1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

DURATION=${DURATION:-10}
RECORDS=${RECORDS:-200000}
RATE=${RATE:-1000}
SHARDS=${SHARDS:-4}
RECORD_BYTES=${RECORD_BYTES:-100}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_IDLE=${QUIET_IDLE:-80}
CINESIS=${CINESIS:-$root/build/release/apps/cinesis/cinesis}
CLIENT_BENCH=${CLIENT_BENCH:-$root/build/release/bench/cinesis-client-bench}
PY=/usr/bin/python3
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

if [ ! -x "$CINESIS" ] || [ ! -x "$CLIENT_BENCH" ]; then
  log "building cinesis and cinesis-client-bench (release, -j1)"
  cmake --preset release >/dev/null
  cmake --build "$root/build/release" -j1 --target cinesis cinesis-client-bench
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results/clients-$stamp"
mkdir -p "$out"
data=$(mktemp -d "${TMPDIR:-/tmp}/cinesis-clients.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

"$CINESIS" serve --port 0 --create-stream-ms 0 --log-level warn --data-dir "$data" >"$out/server.out" 2>"$out/server.err" &
server_pid=$!
port=""
for _ in $(seq 600); do
  port=$(sed -n 's/^cinesis listening on .*:\([0-9]*\)$/\1/p' "$out/server.out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "clients.sh: server did not start" >&2; cat "$out/server.err" >&2; exit 1; }

started=$(date -u '+%Y-%m-%d %H:%M')
for scenario in producer consumer latency; do
  log "$scenario"
  wait_quiet
  "$CLIENT_BENCH" --endpoint "http://127.0.0.1:$port" --scenario "$scenario" --shards "$SHARDS" \
    --record-bytes "$RECORD_BYTES" --duration "$DURATION" --records "$RECORDS" --rate "$RATE" --json \
    >>"$out/results.jsonl" 2>>"$out/client.err" || echo "clients.sh: $scenario reported a failure (see $out/client.err)" >&2
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$out/results.jsonl" "$started" "$load" "$DURATION" "$RECORDS" "$RATE" "$SHARDS" "$RECORD_BYTES" \
  "$( [ "${NO_DOCS:-0}" = 1 ] || echo "$root/docs/benchmarks.md" )" "$(git -C "$root" rev-parse --short HEAD)" <<'PYEOF'
import json, sys
path, started, load, duration, records, rate, shards, rbytes, docs, commit = sys.argv[1:11]
r = {}
for line in open(path):
    line = line.strip()
    if line:
        o = json.loads(line)
        r[o['scenario']] = o
def g(s, k, fmt='{:,.0f}'):
    return fmt.format(r[s][k]) if s in r and k in r[s] else 'n/a'
lines = []
lines.append('Measured by `bench/clients.sh` (`cinesis-client-bench`, source `bench/client_bench.cc`) '
             'against one durable cinesis server (fsync group commit) on loopback; %s shards, %s-byte '
             'records; cinesis %s; %s UTC; load average at the end %s.' % (shards, rbytes, commit, started, load))
lines.append('')
lines.append('| scenario | result |')
lines.append('|---|---|')
lines.append('| Producer (`Producer::Put` with callbacks, %s s, linger 5 ms, per-shard limits lifted) | %s records/s acknowledged; %s PutRecords calls; %s retries; %s failed; client process CPU %s%% of a core |' % (
    duration, g('producer', 'records_per_s'), g('producer', 'put_records_calls'), g('producer', 'retries'),
    g('producer', 'failed'), g('producer', 'cpu_pct')))
lines.append('| Consumer (polling, `Run` with a processor, %s prefilled records from TRIM_HORIZON, checkpoint after each batch, GetRecords rate not limited) | %s records/s delivered; %s GetRecords calls; client process CPU %s%% of a core |' % (
    '{:,}'.format(int(records)), g('consumer', 'records_per_s'), g('consumer', 'get_records_calls'), g('consumer', 'cpu_pct')))
for key, name in (('latency-poll', 'put → consume, polling (GetRecords; idle shards back off 1 s)'),
                  ('latency-push', 'put → consume, enhanced fan-out (SubscribeToShard, pushed)')):
    lines.append('| %s, %s records/s for %s s | p50 %s ms, p99 %s ms, max %s ms (%s of %s records seen) |' % (
        name, rate, duration, g(key, 'p50_ms', '{:.1f}'), g(key, 'p99_ms', '{:.1f}'), g(key, 'max_ms', '{:.1f}'),
        g(key, 'records'), g(key, 'expected')))
text = '\n'.join(lines)
print(text)
if docs:
    doc = open(docs).read()
    begin, end = '<!-- clients:begin -->', '<!-- clients:end -->'
    if begin in doc and end in doc:
        doc = doc[:doc.index(begin) + len(begin)] + '\n' + text + '\n' + doc[doc.index(end):]
    else:
        anchor = '## Microbenchmarks'
        doc = doc.replace(anchor, '## Producer and consumer\n\n' + begin + '\n' + text + '\n' + end + '\n\n' + anchor, 1)
    open(docs, 'w').write(doc)
PYEOF
echo "raw results: $out" >&2
