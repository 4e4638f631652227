# Shared by bench/compare.sh and bench/scale.sh (sourced).

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
