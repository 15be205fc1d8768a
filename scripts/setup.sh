#!/usr/bin/env bash
# Installs what building and testing Rapport needs, and only what is missing (idempotent).
# Debian 12 packages via apt-get (with sudo when not root), then the browser code's npm
# packages, pinned by web/package-lock.json (`npm ci`).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config make
  libboost-dev nlohmann-json3-dev libcli11-dev libsodium-dev libsqlite3-dev
  libgtest-dev libgmock-dev clang-format sqlite3
  libeigen3-dev
  # The server's memory allocator (src/cli/CMakeLists.txt): glibc's malloc spends far more time
  # in its locks and in consolidating free chunks under many request threads.
  libjemalloc-dev
  # PostgreSQL: the client library the postgres backend links, and the server the tests run a
  # throwaway cluster of (scripts/test-postgres.sh; the system's own cluster is not used).
  libpq-dev postgresql
  # TOTP (HMAC-SHA-1 from OpenSSL's libcrypto) and QR codes as SVG for check-in links.
  libssl-dev libqrencode-dev
  # Reference software the statistics tests and `make bench` compare with (SCIENCE.md §11).
  r-base-core r-cran-lme4 r-cran-psych r-cran-gparotation python3-statsmodels
  # The browser code (TypeScript bundled by esbuild) and its tests in Debian's Chromium.
  nodejs chromium
  # clang and its libFuzzer runtime: `make test` runs every fuzz target briefly.
  clang libclang-rt-14-dev
)
# Debian's npm, unless node already brings its own.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages of web/, exactly as locked; reinstalled only when the lockfile changed. Nothing
# is downloaded by them at install time (playwright-core drives Debian's Chromium).
stamp=web/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || ! cmp -s web/package-lock.json web/node_modules/.rapport-lock; then
  echo "setup: npm ci in web/"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  cp web/package-lock.json web/node_modules/.rapport-lock
fi
