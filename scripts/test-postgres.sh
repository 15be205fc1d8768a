#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests of the PostgreSQL backend (ctest fixture
# postgres_cluster; docs/operations.md "Running on PostgreSQL").
#
#   scripts/test-postgres.sh start DIR   initdb a fresh cluster in DIR/data, start it on
#                                        127.0.0.1 and a free port, and write its
#                                        administrator's URL to DIR/url (and print it)
#   scripts/test-postgres.sh stop DIR    stop it and remove DIR/data and DIR/url
#
# Debian's server binaries (/usr/lib/postgresql/15/bin; RAPPORT_PG_BIN overrides) run the
# cluster directly: no system service is touched. PostgreSQL refuses to run as root, so as root
# the cluster belongs to a system user rapport-test, created when missing. Durability settings
# are the production ones (fsync on); connections need the password in the URL.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
data="$dir/data"

bin=${RAPPORT_PG_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bin/initdb" ]; then
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then bin=$newest; else
    echo "test-postgres: no PostgreSQL server binaries in $bin: run make setup" >&2
    exit 1
  fi
fi

owner=""
as_owner() {
  if [ -n "$owner" ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}
if [ "$(id -u)" -eq 0 ]; then
  owner=rapport-test
  if ! id "$owner" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$owner"
  fi
fi

stop_cluster() {
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || \
      as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null || true
  fi
  rm -rf "$data" "$dir/url" "$dir/password"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$action" in
  stop)
    stop_cluster
    echo "test-postgres: stopped"
    ;;
  start)
    stop_cluster  # a cluster left by an interrupted run
    mkdir -p "$data"
    chmod 700 "$data"
    password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$password" > "$dir/password")
    if [ -n "$owner" ]; then chown "$owner" "$data" "$dir/password"; fi
    as_owner "$bin/initdb" -D "$data" -U rapport --pwfile="$dir/password" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/password"
    for attempt in 1 2 3 4 5; do
      port=$(free_port)
      cat >>"$data/postgresql.conf" <<CONF
# scripts/test-postgres.sh (attempt $attempt)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
fsync = on
synchronous_commit = on
max_connections = 300
shared_buffers = 64MB
CONF
      if as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null; then
        url="postgresql://rapport:$password@127.0.0.1:$port/postgres"
        (umask 077 && printf '%s\n' "$url" > "$dir/url")
        echo "test-postgres: started on 127.0.0.1:$port (URL in $dir/url)"
        exit 0
      fi
      echo "test-postgres: start on port $port failed (attempt $attempt)" >&2
    done
    tail -n 20 "$data/server.log" >&2 || true
    exit 1
    ;;
  *) usage ;;
esac
