#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build with warnings as errors, run
# every test (unit + integration with the AWS CLI and boto3), then build the unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer and run them again, then under
# ThreadSanitizer (clang-15, which also checks the lock annotations).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

# Peers the client is tested against (kinesalite, the AWS SDK for JavaScript v3 for the
# HTTP/2 tests, from npm), when Node.js is available.
if command -v npm >/dev/null 2>&1; then
  if [ ! -x tests/peers/node_modules/.bin/kinesalite ] || [ ! -d tests/peers/node_modules/@aws-sdk/client-kinesis ]; then
    npm install --prefix tests/peers --no-audit --no-fund --loglevel=error || echo "test.sh: npm install failed; kinesalite and SDK JS v3 tests will be skipped"
  fi
else
  echo "test.sh: npm not found; kinesalite tests will be skipped"
fi

cmake --preset debug
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"

# The Python package (python/, issue 15) under every interpreter found, against the debug
# build's libcinesis and server; one summary line per interpreter.
scripts/test-python.sh build/debug

cmake --preset asan
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs"

# ThreadSanitizer, in a clang-15 build that also checks the thread-safety annotations
# (-Wthread-safety, warnings as errors). Unit tests only, among them engine_stress_test.
cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan -j "$jobs"
