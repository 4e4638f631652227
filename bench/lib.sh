# Shared by the bench/ scripts (sourced).

# Resident memory of a process in MB (-1 when it is gone).
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo -1; }

# Percent of the machine idle over the next second (/proc/stat).
idle_pct() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 1
  read -r -a b < <(head -1 /proc/stat)
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( total > 0 ? 100 * (b[4] - a[4] + b[5] - a[5]) / total : 100 ))
}
# Waits up to QUIET_WAIT seconds for the machine to be QUIET_IDLE percent idle.
wait_quiet() {
  local start=$SECONDS idle
  while :; do
    idle=$(idle_pct)
    [ "$idle" -ge "$QUIET_IDLE" ] && return 0
    if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
      echo "   (machine still busy: ${idle}% idle; measuring anyway)" >&2
      return 0
    fi
  done
}

# Starts `BIN serve --in-memory` under callgrind (instrumentation off until the caller turns
# it on) on a free loopback port, its log and profiles in directory OUT. Sets vpid and port;
# stops the server on exit. Usage: start_callgrind_server BIN OUT
start_callgrind_server() {
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$2/cg.%p" \
    "$1" serve --host 127.0.0.1 --port 0 --in-memory --create-stream-ms 0 >"$2/server.log" 2>&1 &
  vpid=$!
  trap 'kill $vpid 2>/dev/null || true' EXIT
  port=
  for _ in $(seq 1 300); do
    port=$(grep -o 'listening on [^ ]*:[0-9]*' "$2/server.log" 2>/dev/null | grep -o '[0-9]*$' | head -1 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$2/server.log"; exit 1; }
}
