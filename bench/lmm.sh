#!/usr/bin/env bash
# Mixed-model benchmark (DESIGN.md §10, issue "statistics engine"): rapport against lme4, and
# statsmodels MixedLM at the smallest size, on the same simulated files in the same run.
# Models: y ~ 1 + t + (t | client) and y ~ 1 + t + (1 | therapist) + (t | client), REML.
# Usage: bench/lmm.sh [CLIENTS...]   (default: 20000 100000; 400 therapists each)
set -euo pipefail
cd "$(dirname "$0")/.."
rapport=${RAPPORT:-build/release/rapport}
[ -x "$rapport" ] || rapport=build/rapport
sizes=("${@:-20000 100000}")
read -r -a sizes <<< "${sizes[*]}"
statsmodels_at=${sizes[0]}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results.ndjson"

record() {  # levels clients rows program json
  printf '{"levels": %s, "clients": %s, "rows": %s, "program": "%s", "result": %s}\n' \
    "$1" "$2" "$3" "$4" "$5" >> "$results"
}

for clients in "${sizes[@]}"; do
  data="$work/cohort-$clients.csv"
  "$rapport" simulate --seed 1 --clients "$clients" --therapists 400 --out "$data"
  rows=$(($(wc -l < "$data") - 1))
  for levels in 2 3; do
    echo "fitting ${levels}-level, $clients clients ($rows rows)..." >&2
    for _ in 1 2 3; do  # the table keeps the fastest: a fit this short feels every hiccup
      record "$levels" "$clients" "$rows" rapport \
        "$("$rapport" fit lmm --input "$data" --levels "$levels")"
    done
    record "$levels" "$clients" "$rows" lme4 \
      "$(Rscript --vanilla bench/lmm_fit.R "$data" "$levels")"
    if [ "$levels" = 2 ] && [ "$clients" = "$statsmodels_at" ]; then
      record "$levels" "$clients" "$rows" statsmodels \
        "$(/usr/bin/python3 bench/lmm_statsmodels.py "$data" 2>/dev/null)"
    fi
  done
done
/usr/bin/python3 bench/lmm_table.py "$results"
