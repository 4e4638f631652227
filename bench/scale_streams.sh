#!/usr/bin/env bash
# Scale in streams and shards (issue 19 item 5): one server with STREAMS (10,000) streams of one
# shard, then one server with one stream of SHARDS (10,000) shards; create time, idle RSS per
# shard, restart time and the per-call latency of the calls that touch few shards, at the start
# and at the end of the range (bench/scale_streams.py says what each figure is). Prints JSON
# and keeps it in bench/results/scale-streams-<time>/.
#
#   bench/scale_streams.sh                 # both scenarios, durable (fsync)
#   STREAMS=1000 SHARDS=1000 bench/scale_streams.sh shards
#   IN_MEMORY=1 bench/scale_streams.sh
#   FSYNC=never bench/scale_streams.sh     # durable, without fsync (creation is fsync-bound)
#
# Environment: CINESIS (default build/release/apps/cinesis/cinesis), STREAMS, SHARDS, IN_MEMORY,
# FSYNC (always).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
export CINESIS=${CINESIS:-$root/build/release/apps/cinesis/cinesis}
[ -x "$CINESIS" ] || { echo "scale_streams.sh: no $CINESIS (build the release preset)" >&2; exit 1; }
OUT="$here/results/scale-streams-$(date -u +%Y%m%dT%H%M%SZ)"
export OUT
mkdir -p "$OUT"
{
  echo "cores: $(nproc)"
  echo "cinesis: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
python3 "$here/scale_streams.py" "$@" | tee "$OUT/results.json"
echo "raw results: $OUT" >&2
