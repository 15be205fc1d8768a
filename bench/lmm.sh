#!/usr/bin/env bash
# Mixed-model benchmark (DESIGN.md §10): rapport against lme4 (and statsmodels on the smallest
# size) on the same simulated data in the same run. Times cover the fit from data in memory
# (rapport: building the model and fitting; lme4: lmer(); statsmodels: fit()), not reading the CSV.
# Usage: bench/lmm.sh [CLIENTS...]   (default 1000 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
rapport=build/rapport
sizes=("${@:-1000 10000 100000}")
read -r -a sizes <<< "${sizes[*]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-6s %9s %10s %12s %12s %9s %14s %14s\n' model clients rows rapport_s lme4_s ratio \
  criterion_diff statsmodels_s
for clients in "${sizes[@]}"; do
  data="$work/cohort-$clients.csv"
  "$rapport" simulate --seed 1 --clients "$clients" --therapists $((clients / 20)) --out "$data"
  rows=$(($(wc -l < "$data") - 1))
  for model in two three; do
    if [ "$model" = two ]; then
      formula='y ~ session + (session | client)'
    else
      formula='y ~ session + (1 | therapist) + (session | client)'
    fi
    ours=$("$rapport" fit lmm --data "$data" --formula "$formula" |
      /usr/bin/python3 -c 'import json,sys; f=json.load(sys.stdin); print(f["fit_seconds"], repr(f["reml_criterion"]))')
    read -r our_seconds our_criterion <<< "$ours"
    read -r r_seconds r_criterion <<< "$(Rscript --vanilla bench/lmm_fit.R "$data" "$model")"
    sm="-"
    if [ "$model" = two ] && [ "$clients" -le 1000 ]; then
      read -r sm_seconds sm_criterion <<< "$(/usr/bin/python3 bench/lmm_statsmodels.py "$data" 2>/dev/null)"
      sm="$sm_seconds"
    fi
    /usr/bin/python3 - "$model" "$clients" "$rows" "$our_seconds" "$r_seconds" "$our_criterion" \
      "$r_criterion" "$sm" <<'PY'
import sys
model, clients, rows, ours, theirs, our_c, r_c, sm = sys.argv[1:]
ours, theirs, our_c, r_c = float(ours), float(theirs), float(our_c), float(r_c)
ratio = theirs / ours if ours > 0 else float("inf")
print(f"{model:<6} {int(clients):>9} {int(rows):>10} {ours:>12.3f} {theirs:>12.3f} "
      f"{ratio:>8.1f}x {(our_c - r_c) / abs(r_c):>+14.2e} {sm:>14}")
PY
  done
done
echo "criterion_diff = (rapport - lme4) / |lme4| of the REML criterion; negative = rapport lower."
