"""Prints the table of bench/lmm.sh from the JSON results of one run.

Usage: /usr/bin/python3 lmm_table.py RESULTS.ndjson
Each line: {"levels", "clients", "rows", "program", "result": <fit JSON>}. For every model and
size: fit times, the ratio of lme4's (and statsmodels') time to rapport's, and the largest
relative difference from lme4 in each group of estimates and in the criterion.
"""
import json
import sys


def leaves(value, prefix=""):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{prefix}{key}.")
    elif value is not None:
        yield prefix.rstrip("."), float(value)


def largest_difference(ours, reference, group):
    mine = dict(leaves(ours[group]))
    theirs = dict(leaves(reference[group]))
    worst, where = 0.0, "-"
    for key, expected in theirs.items():
        difference = abs(mine[key] - expected) / max(abs(expected), 1e-300)
        if difference >= worst:
            worst, where = difference, key
    return worst, where


runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by_key = {}
for run in runs:  # several runs of one program: keep the fastest
    programs = by_key.setdefault((run["levels"], run["clients"]), {})
    best = programs.get(run["program"])
    if best is None or run["result"]["fit_seconds"] < best["result"]["fit_seconds"]:
        programs[run["program"]] = run

header = (f"{'model':<8}{'clients':>9}{'rows':>10}{'program':>13}{'seconds':>10}{'lme4/x':>9}"
          f"{'x/rapport':>11}"
          f"{'fixef':>11}{'se':>11}{'varcomp':>11}{'criterion':>12}")
print(header)
print("-" * len(header))
for (levels, clients), programs in sorted(by_key.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    lme4 = programs["lme4"]["result"]
    ours = programs["rapport"]["result"]
    for program in ("rapport", "lme4", "statsmodels"):
        if program not in programs:
            continue
        run = programs[program]
        result = run["result"]
        ratio = lme4["fit_seconds"] / result["fit_seconds"]
        slower = result["fit_seconds"] / ours["fit_seconds"]
        cells = []
        for group in ("fixef", "se", "varcomp"):
            cells.append(f"{largest_difference(result, lme4, group)[0]:>11.1e}")
        criterion = (result["criterion"] - lme4["criterion"]) / abs(lme4["criterion"])
        print(f"{levels}-level {clients:>9}{run['rows']:>10}{program:>13}"
              f"{result['fit_seconds']:>10.3f}{ratio:>8.1f}x{slower:>10.1f}x{''.join(cells)}{criterion:>+12.1e}")
    if levels == 3 and clients in {run["clients"] for run in runs if run["program"] == "statsmodels"}:
        print(f"{'':<27}statsmodels: no 3-level model with correlated random slopes nested in "
              "therapists")
print()
print("lme4/x: lme4's time over this program's; x/rapport: this program's time over rapport's.")
print("seconds: the fit from data in memory (rapport: sufficient statistics, optimisation and")
print("estimates, fastest of 3 runs; lme4: lmer(); statsmodels: MixedLM.fit()), not reading the CSV.")
print("fixef, se, varcomp: the largest relative difference from lme4 among the fixed effects,")
print("their standard errors, and the variance components with the residual variance.")
print("criterion: (x - lme4) / |lme4| of the REML criterion; negative means lower than lme4's.")
