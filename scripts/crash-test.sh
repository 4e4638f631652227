#!/usr/bin/env bash
# Crash test, long run: `scripts/crash-test.sh [CYCLES]` (default 50).
#
# Runs tests/integration/test_crash.py (both configurations: default 64 MiB segments and small
# 128 KiB segments, CYCLES cycles each) against the debug build
# (build/debug/apps/cinesis/cinesis) or $CINESIS_BIN: concurrent PutRecords/PutRecord writers,
# SIGKILL while writes are in flight, restart on the same --data-dir, and a check that every
# acknowledged record is there exactly once with its ShardId and SequenceNumber, in order,
# without garbage. Exits non-zero on any loss, duplicate, corruption or failed restart; the
# evidence (data dir copies, server logs, ledger) is then kept under /tmp/crash-evidence-*/.
#
# Also honoured (see the test's docstring): CINESIS_CRASH_WRITERS, CINESIS_CRASH_SEED,
# CINESIS_CRASH_FSYNC (always|never), CINESIS_CRASH_SEGMENT_BYTES, CINESIS_CRASH_SMALL_SEGMENT_BYTES,
# CINESIS_CRASH_EVIDENCE_DIR. Extra arguments after CYCLES go to unittest, e.g.
#   scripts/crash-test.sh 50 -k small_segments
set -euo pipefail
cd "$(dirname "$0")/.."

cycles="${1:-50}"
if ! [[ "$cycles" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [CYCLES]   (CYCLES: a positive integer, default 50)" >&2
  exit 2
fi

bin="${CINESIS_BIN:-build/debug/apps/cinesis/cinesis}"
if [[ -d "$bin" && -x "$bin/cinesis" ]]; then bin="$bin/cinesis"; fi
if [[ ! -x "$bin" ]]; then
  echo "$0: server binary not found: $bin" >&2
  echo "build it first (cmake --preset debug && cmake --build --preset debug --target cinesis)" >&2
  echo "or point CINESIS_BIN at a cinesis binary" >&2
  exit 2
fi
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
if ! "$python" -c 'import boto3' 2>/dev/null; then
  echo "$0: $python cannot import boto3 (scripts/install-deps.sh installs python3-boto3)" >&2
  exit 2
fi

export CINESIS_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export CINESIS_CRASH_CYCLES="$cycles"
echo "crash test: $cycles cycles against $CINESIS_BIN" >&2
shift $(( $# > 0 ? 1 : 0 ))
exec "$python" -m unittest -v tests/integration/test_crash.py "$@"
