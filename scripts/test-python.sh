#!/usr/bin/env bash
# Runs the Python package's suites (python/tests) under every interpreter found: each
# version under $(pyenv root)/versions plus Debian's /usr/bin/python3, printing one line per
# interpreter ("python 2.7.18: N passed, ..."), then the Django suite (pytest-django) under
# /usr/bin/python3. Usage: scripts/test-python.sh [BUILD_DIR] (default build/debug); the
# library is BUILD_DIR's libcinesis.so unless CINESIS_LIBRARY is set, the server binary
# BUILD_DIR/apps/cinesis/cinesis unless CINESIS_BIN is set.
# Under CI=true an interpreter that pyenv lists but that fails (import included) fails the
# run, as does a missing libcinesis; otherwise such tests are skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/debug}
if [ -z "${CINESIS_LIBRARY:-}" ]; then
  lib=$(find "$build" -name 'libcinesis.so' -not -path '*/CMakeFiles/*' 2>/dev/null | head -1)
  [ -n "$lib" ] && export CINESIS_LIBRARY="$PWD/$lib"
fi
export CINESIS_BIN=${CINESIS_BIN:-$PWD/$build/apps/cinesis/cinesis}
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
echo "test-python: CINESIS_LIBRARY=${CINESIS_LIBRARY:-<not found>} CINESIS_BIN=$CINESIS_BIN"

interpreters=()
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for v in $(pyenv versions --bare 2>/dev/null); do
    [ -x "$root/versions/$v/bin/python" ] && interpreters+=("$root/versions/$v/bin/python")
  done
fi
[ -x /usr/bin/python3 ] && interpreters+=(/usr/bin/python3)

status=0
summary=()
# The interpreters run CINESIS_PYTHON_JOBS at a time (default: the number of cores, at most
# 4); each suite starts its own servers on free loopback ports in its own temporary
# directories. Output is kept per interpreter and printed in order.
njobs=${CINESIS_PYTHON_JOBS:-$(nproc)}
((njobs > 4)) && njobs=4
outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT
i=0
for py in "${interpreters[@]}"; do
  while (($(jobs -rp | wc -l) >= njobs)); do wait -n || true; done
  ("$py" python/tests/run.py >"$outdir/$i.out" 2>&1; echo $? >"$outdir/$i.rc") &
  i=$((i + 1))
done
wait
i=0
for py in "${interpreters[@]}"; do
  out=$(cat "$outdir/$i.out")
  rc=$(cat "$outdir/$i.rc" 2>/dev/null || echo 1)
  i=$((i + 1))
  line=$(printf '%s\n' "$out" | grep -E '^python [0-9.]+: ' | tail -1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -40
    line=${line:-"$py: FAILED to run (exit $rc)"}
    status=1
  fi
  summary+=("$line")
done

if /usr/bin/python3 -c 'import django, pytest_django' 2>/dev/null; then
  (cd python/tests/django_tests && /usr/bin/python3 -m pytest -q -p no:cacheprovider . ) > /tmp/cinesis-django-$$.log 2>&1
  rc=$?
  line=$(grep -E '(passed|failed|skipped|error)' /tmp/cinesis-django-$$.log | tail -1)
  [ $rc -ne 0 ] && { tail -60 /tmp/cinesis-django-$$.log; status=1; }
  summary+=("django (python3 $(/usr/bin/python3 -c 'import django; print(django.get_version())')): $line")
  rm -f /tmp/cinesis-django-$$.log
  # Again on a real PostgreSQL started for the run (python/tests/pgserver.py; exit 77: none).
  (cd python/tests/django_tests && /usr/bin/python3 ../pgserver.py /usr/bin/python3 -m pytest -q -p no:cacheprovider . ) > /tmp/cinesis-django-pg-$$.log 2>&1
  rc=$?
  line=$(grep -E '(passed|failed|skipped|error)' /tmp/cinesis-django-pg-$$.log | tail -1)
  if [ $rc -eq 77 ]; then
    line="PostgreSQL not installed"; [ "${CI:-}" = true ] && status=1
  elif [ $rc -ne 0 ]; then
    tail -60 /tmp/cinesis-django-pg-$$.log; status=1
  fi
  summary+=("django on PostgreSQL: $line")
  rm -f /tmp/cinesis-django-pg-$$.log
elif [ "${CI:-}" = true ]; then
  summary+=("django: python3-django / python3-pytest-django missing"); status=1
fi

echo "test-python summary:"
printf '  %s\n' "${summary[@]}"
exit $status
