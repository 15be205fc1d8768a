#!/usr/bin/env bash
# Installs what building and testing Rapport needs, and only what is missing (idempotent).
# Debian 12 packages via apt-get (with sudo when not root). No npm packages are used yet.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config make
  libboost-dev nlohmann-json3-dev libcli11-dev libsodium-dev libsqlite3-dev
  libgtest-dev libgmock-dev clang-format sqlite3
  libeigen3-dev
  # Reference software the statistics tests and `make bench` compare with (SCIENCE.md §11).
  r-base-core r-cran-lme4 r-cran-psych r-cran-gparotation python3-statsmodels
)

# `scripts/setup.sh fuzz` adds clang and its libFuzzer runtime, for `make fuzz`.
if [[ " $* " == *" fuzz "* ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
