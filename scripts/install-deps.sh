#!/usr/bin/env bash
# Installs every Debian 12 package cinesis needs to build and test. Idempotent: only
# missing packages are installed, and apt is not touched when nothing is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev libnghttp2-dev libcurl4-openssl-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev libcbor-dev zlib1g-dev
  awscli python3-boto3
  libhiredis-dev libpq-dev redis-server postgresql
  clang-format clang-tidy
  # the Python package's suites (python/tests): Django helpers, pynesis Redis checkpointer
  python3-django python3-pytest python3-pytest-django python3-redis python3-psycopg2
  # preset tsan: clang-15 with its ThreadSanitizer runtime (libclang-common-15-dev, a
  # dependency); libFuzzer for the fuzz targets that will share that build.
  clang-15 libfuzzer-15-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
