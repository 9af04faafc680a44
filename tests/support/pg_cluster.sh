#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests of the PostgreSQL metadata
# back-end: initdb and pg_ctl of /usr/lib/postgresql/<version>/bin run as
# the `postgres` user, with the data and a private socket directory (0700,
# owned by postgres) under one temp dir named after the test instance, Unix
# socket only (listen_addresses = ''), fsync on, collation "C".
#
#   pg_cluster.sh run [--name NAME] -- COMMAND...
#       starts a cluster, runs COMMAND with NEXUS_TEST_POSTGRES_URI set to
#       the URI of its `postgres` database, removes the cluster whether the
#       command passed or failed, and exits with the command's status.
#   pg_cluster.sh start [--name NAME]   prints DIR then the URI (one a line)
#   pg_cluster.sh stop DIR              stops the cluster in DIR, removes DIR
#
# Needs root (to act as postgres) and the postgresql package. Without them
# it exits 77 (a skip for CTest), or 1 under CI=true, where a skip would
# hide the test.
set -euo pipefail

unavailable() {
  echo "pg_cluster: $*" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  return 1
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_postgres() { runuser -u postgres -- "$@"; }

# start NAME: makes and starts the cluster; prints DIR and URI.
start_cluster() {
  local name="$1" bin dir port
  [ "$(id -u)" -eq 0 ] || unavailable "needs root to run the cluster as postgres"
  id postgres > /dev/null 2>&1 || unavailable "no postgres user (install postgresql)"
  bin="$(pg_bin)" || unavailable "no initdb/pg_ctl (install postgresql)"
  dir="$(mktemp -d "/tmp/nexus-pg-${name}.XXXXXX")"
  mkdir -p "$dir/data" "$dir/sock"
  chown -R postgres:postgres "$dir"
  chmod 0700 "$dir" "$dir/data" "$dir/sock"
  port="$(free_port)"
  if ! as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --locale=C \
      --encoding=UTF8 > "$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    echo "pg_cluster: initdb failed" >&2
    exit 1
  fi
  # Only root and postgres can enter the socket directory: trust is safe.
  if ! as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -c port=$port -c fsync=on -c max_connections=200" \
      start > /dev/null; then
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    echo "pg_cluster: pg_ctl start failed" >&2
    exit 1
  fi
  echo "$dir"
  echo "postgresql:///postgres?host=$dir/sock&port=$port&user=postgres"
}

stop_cluster() {
  local dir="$1" bin
  case "$dir" in /tmp/nexus-pg-*) ;; *) echo "pg_cluster: refusing to remove '$dir'" >&2; exit 2 ;; esac
  if bin="$(pg_bin)" && [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

cmd="${1:-}"
shift || true
name="t$$"
if [ "${1:-}" = "--name" ]; then name="$2"; shift 2; fi
case "$cmd" in
  start)
    start_cluster "$name"
    ;;
  stop)
    stop_cluster "$1"
    ;;
  run)
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { echo "usage: pg_cluster.sh run [--name NAME] -- COMMAND..." >&2; exit 2; }
    out="$(start_cluster "$name")"
    dir="$(sed -n 1p <<< "$out")"
    trap 'stop_cluster "$dir"' EXIT INT TERM
    rc=0
    NEXUS_TEST_POSTGRES_URI="$(sed -n 2p <<< "$out")" "$@" || rc=$?
    exit "$rc"
    ;;
  *)
    echo "usage: pg_cluster.sh run|start|stop ..." >&2
    exit 2
    ;;
esac
