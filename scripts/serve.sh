#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build (release), start the server on
# 127.0.0.1:4567. Extra arguments go to `cinesis serve` (e.g. --port 0, --in-memory).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target cinesis
exec build/release/apps/cinesis/cinesis serve "$@"
