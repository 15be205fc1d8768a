#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan, UBSan) and runs each for SECONDS.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   (default: every target below)
#
# New inputs that grow coverage go to build/fuzz/corpus/<target> (kept between runs); the
# committed seeds are fuzz/corpus/<target> (or the data the target parses) and the kept
# crashers fuzz/regressions/<target>. A crash, leak, sanitizer report or per-input timeout
# stops the run with a non-zero status and leaves its input in fuzz/regressions/<target>/,
# where it replays in every later `make test` (ctest fuzz_replay_<target>) once committed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(instruments http_request json_body); fi

binary() {
  case "$1" in
    instruments) echo build/fuzz/src/instruments/instruments_fuzz ;;
    http_request) echo build/fuzz/src/api/http_request_fuzz ;;
    json_body) echo build/fuzz/src/api/json_body_fuzz ;;
    *) echo "scripts/fuzz.sh: unknown target $1" >&2; exit 2 ;;
  esac
}

seeds() {
  case "$1" in
    instruments) echo data/instruments data/textpacks tests/data/fhir ;;
    *) echo "fuzz/corpus/$1" ;;
  esac
}

cmake --preset fuzz >/dev/null
build_targets=()
for target in "${targets[@]}"; do build_targets+=("${target}_fuzz"); done
cmake --build --preset fuzz --target "${build_targets[@]}"

for target in "${targets[@]}"; do
  mkdir -p "build/fuzz/corpus/$target" "fuzz/regressions/$target"
  log="build/fuzz/$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  # shellcheck disable=SC2046  # seeds() lists folders
  if ! "$(binary "$target")" "build/fuzz/corpus/$target" $(seeds "$target") \
    "fuzz/regressions/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz/regressions/$target/" >"$log" 2>&1; then
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)' "$log" | tail -n 80 >&2
    echo "fuzz: $target FAILED; its input is in fuzz/regressions/$target/ (add it to git)" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/  /'
done
