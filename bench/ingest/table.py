"""Prints the table of bench/ingest.sh from the JSON results of one run.

Usage: /usr/bin/python3 table.py RESULTS_DIR < RUN.json
RESULTS_DIR holds the rapport_loadgen outputs checkins.json, healthz.json and sqlite.json;
RUN.json (stdin) describes the run: check-ins created, connections, cores, load averages and
the durability check. Targets: DESIGN.md §10.
"""
import json
import pathlib
import sys

TARGET_PER_SECOND = 20_000
TARGET_P99_MS = 25.0

results = pathlib.Path(sys.argv[1])
run = json.load(sys.stdin)
checkins = json.loads((results / "checkins.json").read_text())
healthz = json.loads((results / "healthz.json").read_text())
sqlite = json.loads((results / "sqlite.json").read_text())


def errors(result):
    found = result.get("errors", {})
    return ", ".join(f"{count} x {status}" for status, count in found.items()) or "none"


print()
print(f"Ingest benchmark: {checkins['requests']:,} measured check-ins (after "
      f"{run['warmup']:,} warm-up) of {run['checkins_created']:,} created, "
      f"{run['connections']} connections, SQLite WAL synchronous=FULL")
print(f"machine: {run['cores']} cores; load average {run['load_before']} before, "
      f"{run['load_after']} after the HTTP phases")
print()
print(f"{'measurement':<40}{'per second':>14}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
      f"{'max ms':>9}")
for name, result in (("check-ins (POST, durable 201)", checkins),
                     ("/healthz (same server)", healthz)):
    print(f"{name:<40}{result['requests_per_second']:>14,.0f}{result['p50_ms']:>9.2f}"
          f"{result['p90_ms']:>9.2f}{result['p99_ms']:>9.2f}{result['max_ms']:>9.2f}")
print(f"{'SQLite raw, 1 row per commit':<40}{sqlite['single_rows_per_second']:>14,.0f}")
print(f"{'SQLite raw, ' + str(sqlite['batch']) + ' rows per commit':<40}"
      f"{sqlite['batch_rows_per_second']:>14,.0f}")
print()

rate = checkins["requests_per_second"]
p99 = checkins["p99_ms"]
print(f"{'against':<40}{'measured':>14}{'target':>12}{'ratio':>9}")
print(f"{'check-ins per second':<40}{rate:>14,.0f}{'>= 20,000':>12}"
      f"{rate / TARGET_PER_SECOND:>9.2f}  {'PASS' if rate >= TARGET_PER_SECOND else 'MISS'}")
print(f"{'check-in p99 latency (ms)':<40}{p99:>14.2f}{'<= 25':>12}"
      f"{p99 / TARGET_P99_MS:>9.2f}  {'PASS' if p99 <= TARGET_P99_MS else 'MISS'}")
print(f"{'check-ins / healthz requests':<40}{'':>14}{'':>12}"
      f"{rate / max(healthz['requests_per_second'], 1e-9):>9.3f}")
print(f"{'check-ins / SQLite 1-row commits':<40}{'':>14}{'':>12}"
      f"{rate / max(sqlite['single_rows_per_second'], 1e-9):>9.3f}")
print(f"{'check-ins / SQLite rows in big commits':<40}{'':>14}{'':>12}"
      f"{rate / max(sqlite['batch_rows_per_second'], 1e-9):>9.3f}")
print()
print(f"errors: check-ins {errors(checkins)}; /healthz {errors(healthz)}")
print(f"durability: {run['acknowledged']:,} check-ins acknowledged (201), "
      f"{run['submitted_in_db']:,} answered in the database, "
      f"{run['new_responses_in_db']:,} new responses of {run['expected_responses']:,} "
      f"expected: {'every acknowledged write stored' if run['durable'] == 'yes' else 'LOST WRITES'}")
