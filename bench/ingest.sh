#!/usr/bin/env bash
# Ingest benchmark (DESIGN.md §10): durable check-ins over HTTP — validate, score, signals,
# audit, commit — against a server on SQLite (WAL, synchronous=FULL), beside the same server's
# /healthz and raw SQLite durable inserts on the same filesystem, in the same run.
# Target: ≥ 20,000 check-ins per second at 64 connections with p99 ≤ 25 ms.
#
# Usage: bench/ingest.sh
# Environment (all optional):
#   INGEST_CHECKINS     check-ins to create and submit (default 100000)
#   INGEST_WARMUP       of those, submitted first and not measured (default 5000)
#   INGEST_CONNECTIONS  concurrent keep-alive connections (default 64)
#   INGEST_HEALTHZ_SECONDS, INGEST_SQLITE_SECONDS  length of those measurements (default 5, 3)
#   INGEST_DIR          where the databases go (default: a new folder under the build folder,
#                       so on the disk the server would use; removed afterwards)
#   RAPPORT_BUILD_DIR   an existing build folder to use instead of the release preset
#   RAPPORT             a rapport binary to measure instead of the one built here
# Exits 1 when any request failed or an acknowledged check-in is missing from the database;
# missing a target is reported (MISS), not an error.
set -euo pipefail
cd "$(dirname "$0")/.."

checkins=${INGEST_CHECKINS:-100000}
warmup=${INGEST_WARMUP:-5000}
connections=${INGEST_CONNECTIONS:-64}
healthz_seconds=${INGEST_HEALTHZ_SECONDS:-5}
sqlite_seconds=${INGEST_SQLITE_SECONDS:-3}
if [ "$warmup" -ge "$checkins" ]; then
  echo "INGEST_WARMUP ($warmup) must be smaller than INGEST_CHECKINS ($checkins)" >&2
  exit 2
fi

build=${RAPPORT_BUILD_DIR:-build/release}
if [ -z "${RAPPORT_BUILD_DIR:-}" ]; then cmake --preset release > /dev/null; fi
if [ -n "${RAPPORT:-}" ]; then
  rapport=$RAPPORT
  cmake --build "$build" --target rapport_loadgen
else
  rapport="$build/rapport"
  cmake --build "$build" --target rapport rapport_loadgen
fi
loadgen="$build/bench/ingest/rapport_loadgen"

work=${INGEST_DIR:-$build/ingest-bench}
rm -rf "$work"
mkdir -p "$work"
results="$work/results"
mkdir -p "$results"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  [ -n "${INGEST_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# Setup: a server with $checkins open check-ins, and their tokens in $work/tokens.txt, one a
# line. Today through `rapport demo --extra-checkins`; swap this function for one that creates
# sessions and check-ins through the API once it can.
db="$work/demo/rapport.db"
setup_checkins() {
  echo "creating $checkins check-ins ..." >&2
  local started=$SECONDS
  "$rapport" demo --data-dir "$work/demo" --port 0 --extra-checkins "$checkins" \
    > "$work/server.log" 2>&1 &
  server_pid=$!
  local accounts="$work/demo/demo-accounts.json"
  for _ in $(seq 1 600); do
    [ -s "$accounts" ] && break
    kill -0 "$server_pid" 2> /dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.5
  done
  [ -s "$accounts" ] || { echo "the demo did not start" >&2; exit 1; }
  port=$(grep -o '"url": "http://[^"]*' "$accounts" | sed 's/.*://; s/[^0-9]//g')
  grep -o '/c/[A-Za-z0-9_-]*' "$accounts" | cut -c4- > "$work/tokens.txt"
  echo "set up $(wc -l < "$work/tokens.txt") check-ins in $((SECONDS - started)) s;" \
    "server on port $port" >&2
}

setup_checkins
total=$(wc -l < "$work/tokens.txt")
# Stored state before the load: check-ins answered, responses they promise, responses.
count_stored() {
  sqlite3 -separator ' ' "$db" "SELECT (SELECT COUNT(*) FROM checkins WHERE submitted_at IS NOT
    NULL), (SELECT IFNULL(SUM(json_array_length(instruments)), 0) FROM checkins WHERE
    submitted_at IS NOT NULL), (SELECT COUNT(*) FROM responses)"
}
read -r submitted_before promised_before responses_before <<< "$(count_stored)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

status=0
"$loadgen" healthz --port "$port" --connections "$connections" --seconds 1 > /dev/null ||
  status=1
"$loadgen" checkins --port "$port" --connections "$connections" --tokens "$work/tokens.txt" \
  --count "$warmup" --seed 1 > "$results/warmup.json" || status=1
"$loadgen" healthz --port "$port" --connections "$connections" --seconds "$healthz_seconds" \
  > "$results/healthz.json" || status=1
"$loadgen" checkins --port "$port" --connections "$connections" --tokens "$work/tokens.txt" \
  --skip "$warmup" --seed 2 > "$results/checkins.json" || status=1
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
stop_server

"$loadgen" sqlite --db "$work/demo/raw-sqlite.db" --seconds "$sqlite_seconds" --batch 1000 \
  > "$results/sqlite.json" || status=1

# Durable means no acknowledged write lost: every 201 is a submitted check-in with all its
# responses in the database the server left behind.
acknowledged=$(cat "$results/warmup.json" "$results/checkins.json" |
  sed -n 's/.*"ok":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
read -r submitted_after promised_after responses_after <<< "$(count_stored)"
submitted=$((submitted_after - submitted_before))
expected_responses=$((promised_after - promised_before))
new_responses=$((responses_after - responses_before))
durable="yes"
if [ "$submitted" -ne "$acknowledged" ] || [ "$new_responses" -ne "$expected_responses" ]; then
  durable="NO"
  status=1
fi

/usr/bin/python3 bench/ingest/table.py "$results" <<EOF
{"checkins_created": $total, "warmup": $warmup, "connections": $connections,
 "cores": $(nproc), "load_before": "$load_before", "load_after": "$load_after",
 "acknowledged": $acknowledged, "submitted_in_db": $submitted,
 "new_responses_in_db": $new_responses, "expected_responses": $expected_responses,
 "durable": "$durable"}
EOF
exit $status
