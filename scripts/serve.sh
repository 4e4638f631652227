#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build (release), start the server on
# 127.0.0.1:4567. Extra arguments go to `cinesis serve` (e.g. --port 0, --in-memory).
# Warnings: a user's build does not stop on a warning a newer compiler adds
# (CINESIS_WERROR=OFF); under CI (CI=true) warnings are errors, as in every preset.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --serve
werror=OFF
if [ "${CI:-}" = true ]; then werror=ON; fi
cmake --preset release -DCINESIS_WERROR=$werror >/dev/null
cmake --build --preset release --target cinesis
exec build/release/apps/cinesis/cinesis serve "$@"
