#!/usr/bin/env bash
# clang-tidy over the whole tree (src/, apps/, bench/, tests/) with the curated checks in
# .clang-tidy; any finding fails (WarningsAsErrors: '*').
# Usage: scripts/check-tidy.sh BUILD_DIR [FILE...]   (BUILD_DIR has compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: check-tidy.sh BUILD_DIR [FILE...]}
shift
tidy=${CLANG_TIDY:-clang-tidy}
command -v "$tidy" >/dev/null || { echo "check-tidy: $tidy not found (apt-get install clang-tidy)" >&2; exit 1; }
[ -f "$build/compile_commands.json" ] || { echo "check-tidy: no $build/compile_commands.json" >&2; exit 1; }
if [ $# -eq 0 ]; then
  # Every C++ translation unit of the tree that the build compiles (generated files excluded).
  mapfile -t files < <(python3 -c '
import json, os, sys
root = os.getcwd()
seen = set()
for e in json.load(open(sys.argv[1])):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, root)
    if rel.endswith(".cc") and rel.split("/")[0] in ("src", "apps", "bench", "tests") and rel not in seen:
        seen.add(rel); print(rel)
' "$build/compile_commands.json")
else
  files=("$@")
fi
config=${CINESIS_TIDY_CONFIG:-}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
jobs=${TIDY_JOBS:-$(nproc)}
start=$(date +%s)
status=0
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  "$tidy --quiet --extra-arg=-Wno-unknown-warning-option -p '$build' ${config:+--config-file='$config'} '{}' 2>/dev/null || echo 'check-tidy: FAILED {}'" >"$log" || status=$?
if grep -qE "(warning|error):|check-tidy: FAILED" "$log"; then
  grep -E "(warning|error):|check-tidy: FAILED" "$log" | sort -u
  echo "check-tidy: $(grep -cE "(warning|error):" "$log" || true) findings in ${#files[@]} files" >&2
  exit 1
fi
echo "check-tidy: ${#files[@]} files clean ($(($(date +%s) - start)) s)"
exit $status
