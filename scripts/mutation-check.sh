#!/usr/bin/env bash
# Mutation check (issue 16): proves that the tests claiming the producer, consumer,
# checkpoint and storage guarantees fail when those guarantees are broken.
#
# Each tests/mutations/*.patch breaks one guarantee on purpose. Its header names the
# guarantee and the tests expected to catch it:
#   # guarantee: <one line>
#   # tests: <binary>:<gtest filter> [<binary>:<gtest filter> ...]
# The patch is applied to a scratch copy of the working tree (build/mutation/src; the real
# tree is never touched, so an interrupted run leaves nothing to undo: the copy is
# re-synchronised before every mutation), the named test binaries are rebuilt incrementally
# (ccache, -j2, under the machine-wide build lock /tmp/cinesis-build.lock) and the named
# tests run with a timeout (the tree is copied once per run: edits made meanwhile wait for
# the next run). A mutation is killed when one of its tests fails (or times
# out). One line per mutation, then "N killed, M survived"; exit 1 if any survived or a
# mutation could not be applied or built, 2 if the unmutated tests fail.
#
# Usage: scripts/mutation-check.sh [name-substring...]   (e.g. producer-no-reload)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${CINESIS_MUTATION_DIR:-$root/build/mutation}
src=$work/src
bld=$src/build/debug
jobs=${CINESIS_MUTATION_JOBS:-2}
timeout_s=${CINESIS_MUTATION_TIMEOUT:-90}
log=$work/log
mkdir -p "$src" "$log"
# The scratch copy has no console/node_modules (ignored files are not copied): the console's
# charting library comes from the tree's (cmake/CinesisConsole.cmake).
export CINESIS_CONSOLE_NODE_MODULES=${CINESIS_CONSOLE_NODE_MODULES:-$root/console/node_modules}

if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
  # The scratch copy compiles in another directory: without hashing it (it only reaches the
  # debug info), its first build hits the debug build's objects.
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

# Copies the working tree's tracked and untracked (not ignored) files into the scratch copy,
# rewriting only files whose content differs (with a fresh mtime, so ninja rebuilds what a
# previous mutation touched), and removes files that no longer exist in the tree.
sync_copy() {
  (cd "$root" && git ls-files -co --exclude-standard -z) | python3 -c '
import os, sys, shutil, filecmp
root, dst = sys.argv[1], sys.argv[2]
names = [n for n in sys.stdin.buffer.read().decode().split("\0") if n]
want = set()
for n in names:
    s, d = os.path.join(root, n), os.path.join(dst, n)
    if not os.path.isfile(s):
        continue
    want.add(n)
    if os.path.isfile(d) and filecmp.cmp(s, d, shallow=False):
        continue
    os.makedirs(os.path.dirname(d), exist_ok=True)
    if os.path.exists(d):
        os.unlink(d)
    shutil.copyfile(s, d)
    shutil.copymode(s, d)
for dirpath, dirnames, files in os.walk(dst):
    if os.path.relpath(dirpath, dst).split(os.sep)[0] == "build":
        dirnames[:] = []
        continue
    for f in files:
        rel = os.path.relpath(os.path.join(dirpath, f), dst)
        if rel not in want:
            os.unlink(os.path.join(dirpath, f))
' "$root" "$src"
}

# Builds targets under the machine-wide build lock (one heavy build at a time).
build() {
  (
    flock 9
    [ -f "$bld/build.ninja" ] || (cd "$src" && cmake --preset debug >"$log/configure.txt")
    cmake --build "$bld" -j "$jobs" --target "$@"
  ) 9>/tmp/cinesis-build.lock
}

header() { sed -n "s/^# $1: *//p" "$2" | head -1; }

# Runs "binary:filter"; prints nothing, returns the test's status (124: timed out).
run_test() {
  local bin=${1%%:*} filter=${1#*:} out=$2
  # In a subshell whose stderr is the log: a test that crashes is reported there.
  (timeout -k 5 "$timeout_s" "$bld/tests/unit/$bin" --gtest_filter="$filter" \
    --gtest_brief=1) >"$out" 2>&1
}

shopt -s nullglob
patches=()
for p in "$root"/tests/mutations/*.patch; do
  if [ $# -eq 0 ]; then patches+=("$p"); continue; fi
  for want in "$@"; do [[ $(basename "$p") == *"$want"* ]] && { patches+=("$p"); break; }; done
done
[ ${#patches[@]} -gt 0 ] || { echo "mutation-check: no mutations selected" >&2; exit 1; }
shopt -u nullglob
set -f  # test filters such as DiskLogTest.* are words, never file-name patterns

# Every binary any selected mutation needs, built once unmutated; every named test must pass
# unmutated, or a "kill" would prove nothing.
declare -A bins=()
for p in "${patches[@]}"; do
  tests=$(header tests "$p")
  [ -n "$tests" ] && [ -n "$(header guarantee "$p")" ] || {
    echo "mutation-check: $(basename "$p") lacks a '# guarantee:' or '# tests:' header" >&2
    exit 1
  }
  for t in $tests; do bins[${t%%:*}]=1; done
done
start=$(date +%s)
sync_copy
echo "mutation-check: building ${!bins[*]} in $bld"
build "${!bins[@]}" >"$log/build-baseline.txt" 2>&1 || {
  tail -30 "$log/build-baseline.txt"
  echo "mutation-check: the unmutated tree does not build" >&2
  exit 2
}
for p in "${patches[@]}"; do
  for t in $(header tests "$p"); do
    if ! run_test "$t" "$log/baseline.txt"; then
      tail -30 "$log/baseline.txt"
      echo "mutation-check: $t fails without any mutation ($(basename "$p"))" >&2
      exit 2
    fi
  done
done

killed=0 survived=0 broken=0
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  if ! patch -s -p1 -d "$src" --no-backup-if-mismatch <"$p" >"$log/$name.patch.txt" 2>&1; then
    echo "BROKEN   $name: patch does not apply ($(head -1 "$log/$name.patch.txt"))"
    sync_copy
    broken=$((broken + 1))
    continue
  fi
  tests=$(header tests "$p")
  need=()
  for t in $tests; do need+=("${t%%:*}"); done
  if ! build $(printf '%s\n' "${need[@]}" | sort -u) >"$log/$name.build.txt" 2>&1; then
    echo "BROKEN   $name: mutant does not build (see $log/$name.build.txt)"
    patch -s -R -p1 -d "$src" --no-backup-if-mismatch <"$p" >/dev/null 2>&1 || sync_copy
    broken=$((broken + 1))
    continue
  fi
  killer=""
  for t in $tests; do
    t0=$(date +%s)
    if run_test "$t" "$log/$name.$(echo "${t%%:*}").txt"; then :; else
      rc=$?
      how=failed
      [ $rc -eq 124 ] && how="timed out"
      [ $rc -gt 128 ] && [ $rc -ne 137 ] && how="crashed"
      killer="$t ($how, $(($(date +%s) - t0)) s)"
      break
    fi
  done
  # Undo the mutation (patch writes fresh mtimes, so the next build recompiles the file);
  # if that fails, re-copy the snapshot's files from the tree.
  patch -s -R -p1 -d "$src" --no-backup-if-mismatch <"$p" >/dev/null 2>&1 || sync_copy
  if [ -n "$killer" ]; then
    echo "KILLED   $name by $killer"
    killed=$((killed + 1))
  else
    echo "SURVIVED $name: $(header guarantee "$p") -- not caught by $tests"
    survived=$((survived + 1))
  fi
done
echo "$killed killed, $survived survived$( [ $broken -gt 0 ] && echo ", $broken broken") ($(($(date +%s) - start)) s)"
[ $survived -eq 0 ] && [ $broken -eq 0 ]
