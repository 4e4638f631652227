#!/usr/bin/env bash
# CI: the README's first command exactly as written. Runs `scripts/serve.sh` (no arguments:
# it builds the release preset and serves on 127.0.0.1:4567 with the default data dir) in
# the background, waits until it listens, asks it one AWS CLI call, stops it with SIGTERM by
# PID and requires a clean exit (status 0).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$log"
}
trap cleanup EXIT
fail() {
  echo "serve-check: $*" >&2
  echo "--- scripts/serve.sh output ---" >&2
  cat "$log" >&2
  exit 1
}

scripts/serve.sh >"$log" 2>&1 &
pid=$!  # serve.sh execs the server: this is its PID
deadline=$((SECONDS + ${SERVE_CHECK_TIMEOUT:-3600}))  # the release build comes first
until grep -q '^cinesis listening on 127.0.0.1:4567$' "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rc=0
    wait "$pid" || rc=$?
    pid=
    fail "scripts/serve.sh exited (status $rc) before listening"
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "not listening after ${SERVE_CHECK_TIMEOUT:-3600} s"
  sleep 1
done

out=$(AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= \
  timeout 60 aws --endpoint-url http://127.0.0.1:4567 kinesis list-streams) ||
  fail "aws kinesis list-streams failed"
echo "$out" | grep -q '"StreamNames"' || fail "unexpected list-streams answer: $out"

kill -TERM "$pid"
rc=0
timeout 30 tail --pid="$pid" -f /dev/null || fail "still running 30 s after SIGTERM"
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM (expected 0)"
echo "serve-check: scripts/serve.sh built, served list-streams, stopped cleanly on SIGTERM"
