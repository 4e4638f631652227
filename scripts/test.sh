#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build with warnings as errors, run
# every test (unit + integration with the AWS CLI and boto3), then build the unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer and run them again, then under
# ThreadSanitizer (clang-15, which also checks the lock annotations), then runs the fuzzers
# (fuzz/) for a short time each.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
# Wall time per stage, printed as each ends and again as a table at the end (CI budget).
stage_start=0 stage_name="install-deps" stage_log=()
stage() {
  stage_log+=("$(printf '%-22s %5d s' "$stage_name" $((SECONDS - stage_start)))")
  echo "test.sh: stage $stage_name took $((SECONDS - stage_start)) s" >&2
  stage_name=$1 stage_start=$SECONDS
}
trap 'stage end; printf "test.sh: time per stage\n"; printf "  %s\n" "${stage_log[@]}"' EXIT
stage format
# Formatting drift fails before anything is built (.clang-format; clang-format -i to fix).
scripts/check-format.sh
# ccache (install-deps.sh installs it): the mutation check's scratch copy then reuses the
# debug build's objects, and repeated runs are quick.
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$PWD")}
  # Debug objects keep the compile directory only in their debug info: without hashing it, the
  # mutation check's scratch copy (build/mutation/src) hits the debug build's objects.
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
stage npm

# Peers the client is tested against (kinesalite, the AWS SDK for JavaScript v3 for the
# HTTP/2 tests, aws-kinesis-agg), from npm. install-deps.sh provides Node >= 20, npm and
# curl or fails; a failed npm install fails here (a missing peer would skip tests).
if [ ! -x tests/peers/node_modules/.bin/kinesalite ] || [ ! -d tests/peers/node_modules/@aws-sdk/client-kinesis ] ||
  [ ! -d tests/peers/node_modules/aws-kinesis-agg ]; then
  npm install --prefix tests/peers --no-audit --no-fund --loglevel=error ||
    { echo "test.sh: npm install --prefix tests/peers failed: the kinesalite, SDK JS v3 and aggregation tests cannot run" >&2; exit 1; }
fi

# The web console's browser test (tests/integration/test_console.py) drives Debian's chromium
# with playwright-core from npm; a failed install fails here (the test would be skipped).
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm install --prefix tests/browser --no-audit --no-fund --loglevel=error ||
    { echo "test.sh: npm install --prefix tests/browser failed: the console's browser test cannot run" >&2; exit 1; }
fi

# Executed/skipped per integration suite (tests/integration/run.py appends here).
export CINESIS_TEST_SUMMARY=$PWD/build/test-summary.txt
mkdir -p build && : >"$CINESIS_TEST_SUMMARY"

stage debug-build
cmake --preset debug
cmake --build --preset debug -j "$jobs"
stage clang-tidy
# clang-tidy over the whole tree with the curated checks of .clang-tidy (needs the debug
# build's compile_commands.json and generated sources); any finding fails.
scripts/check-tidy.sh build/debug
stage debug-tests
ctest --preset debug -j "$jobs" -LE mutation
echo "test.sh: integration suites (executed / skipped / failed):"
cat "$CINESIS_TEST_SUMMARY"

# Mutation check (issue 16): every guarantee broken on purpose must fail its tests. Alone
# (it builds), in a scratch copy of the tree under build/mutation, with ccache when present.
stage mutation
ctest --preset debug -L mutation --output-on-failure

# The Python package (python/, issue 15) under every interpreter found, against the debug
# build's libcinesis and server; one summary line per interpreter.
stage python
scripts/test-python.sh build/debug

stage asan-build
cmake --preset asan
cmake --build --preset asan -j "$jobs"
stage asan-tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs"

# ThreadSanitizer, in a clang-15 build that also checks the thread-safety annotations
# (-Wthread-safety, warnings as errors). Unit tests only, among them engine_stress_test.
stage tsan-build
cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
stage tsan-tests
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan -j "$jobs"

# Fuzzing (issue 17, fuzz/): the libFuzzer harnesses in their own clang-15 build with
# ASan+UBSan (only the harnesses and the components they need are built), each run for
# CINESIS_FUZZ_SECONDS (10) on its seed corpus; a crash or sanitizer report fails.
stage fuzz-build
cmake --preset fuzz
cmake --build --preset fuzz -j "$jobs"
stage fuzz-run
ctest --preset fuzz -j "$jobs"
