#!/usr/bin/env bash
# Installs every Debian 12 package cinesis needs to build and test; with --serve only what
# scripts/serve.sh needs (build the server, talk to it with the AWS CLI). Idempotent: only
# missing packages are installed, and apt is not touched when nothing is missing. Not root:
# apt runs through sudo.
set -euo pipefail

# What scripts/serve.sh needs: the release build of `cinesis` (its configure also finds the
# test and benchmark libraries and /usr/bin/python3) and the AWS CLI of the README's next step.
SERVE_PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev libnghttp2-dev libcurl4-openssl-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libhiredis-dev libpq-dev
  # curl: NodeSource's key (below) and the HTTP/2 tests
  curl
  awscli
)
# What scripts/test.sh needs on top.
TEST_PACKAGES=(
  python3-boto3 redis-server postgresql
  clang-format clang-tidy
  # the Python package's suites (python/tests): Django helpers, pynesis Redis checkpointer
  python3-django python3-pytest python3-pytest-django python3-redis python3-psycopg2
  # ccache: the mutation check's incremental rebuilds
  ccache
  # preset tsan: clang-15 with its ThreadSanitizer runtime (libclang-common-15-dev, a
  # dependency); libFuzzer for the fuzz targets that will share that build.
  clang-15 libfuzzer-15-dev
  # the web console's browser test (tests/browser, playwright-core drives Debian's chromium)
  chromium
  # tests of /_cinesis/metrics (issue 18): Prometheus's own text-format parser
  python3-prometheus-client
)

case "${1:-}" in
  --serve) PACKAGES=("${SERVE_PACKAGES[@]}") ;;
  "") PACKAGES=("${SERVE_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *)
    echo "usage: scripts/install-deps.sh [--serve]" >&2
    exit 2
    ;;
esac

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

# Node.js >= 20 and npm (kinesalite, the AWS SDK for JavaScript v3, aws-kinesis-agg in
# tests/peers). Debian 12 ships Node 18, too old for the SDK: then Node 20 comes from
# NodeSource's apt repository (signed), the channel Node.js documents for Debian.
node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p'; }
if [ "$(node_major)" = "" ] || [ "$(node_major)" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: Node.js >= 20 and npm are needed (found: $(node --version 2>/dev/null || echo none)); adding NodeSource's repository"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnupg ca-certificates
  $SUDO install -d -m 0755 /etc/apt/keyrings
  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key |
    $SUDO gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main" |
    $SUDO tee /etc/apt/sources.list.d/nodesource.list >/dev/null
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs
  if [ "$(node_major)" = "" ] || [ "$(node_major)" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
    echo "install-deps: could not install Node.js >= 20 with npm (have: $(node --version 2>/dev/null || echo none)); the kinesalite and SDK JS tests need it" >&2
    exit 1
  fi
fi
