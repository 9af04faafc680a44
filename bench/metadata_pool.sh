#!/usr/bin/env bash
# Scenario: what the storage metadata's connection pool ([storage]
# metadata_connections) buys small reads. Two instances on one store: P1
# with one connection (every metadata call waits for the one before it, as
# before the pool) and P4 with four (the default). Each serves wrk with
# POOL_CONNECTIONS connections (default 64) sending GET /api/me (one usage
# read in nexusd) and then GET /api/fs/ls of a folder of POOL_ENTRIES
# entries (default 100). The store is PostgreSQL (a throw-away cluster,
# tests/support/pg_cluster.sh; both instances share one database, as
# daemons of one deployment do) and then SQLite (each its own file). P1 is
# the anchor of each pair; rounds alternate the order, POOL_RUNS of them
# (default 3), figures are medians. Without root or postgresql the
# PostgreSQL pairs are left out.
#
# All processes share this machine's cores, so the pool shows what it
# gains where waiting on the database, not the CPU, is the bound.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need wrk "apt-get install wrk"
need curl "apt-get install curl"

CONNECTIONS=${POOL_CONNECTIONS:-64}
RUNS=${POOL_RUNS:-3}
ENTRIES=${POOL_ENTRIES:-100}

work=$(mktemp -d /tmp/nexus-bench-pool-XXXXXX)
bench_cleanup_add "rm -rf '$work'"

# Starts an instance with settings "$1", registers a user and fills /many
# with ENTRIES folders; sets FILLED to "<url> <token>". (Not in a $(...)
# subshell: the instance's processes must stay known to the cleanup.)
start_filled() {
  BENCH_NEXUS_ENV="$1" start_nexus
  local token i code
  token=$(register_user)
  for ((i = -1; i < ENTRIES; i++)); do
    local dir=/many
    ((i < 0)) || dir=/many/d$i
    code=$(NEXUS_TOKEN=$token ncurl -o /dev/null -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -d "{\"path\":\"$dir\"}" "$NEXUS_URL/api/fs/mkdir")
    [ "$code" = 200 ] || die "mkdir $dir: HTTP $code"
  done
  FILLED="$NEXUS_URL $token"
}

# wrk against "$1" (an instance's URL plus path) as token $2.
measure() {
  NEXUS_TOKEN=$2 WRK_CONNECTIONS=$CONNECTIONS run_wrk "$1" -s "$BENCH_DIR/me.lua" 2>/dev/null
}

# Alternating rounds of P1 and P4 for request path $3 (label $4) on store
# $5; P1 and P4 are "<url> <token>" in $1 and $2.
compare() {
  local p1=$1 p4=$2 path=$3 what=$4 store=$5 r
  local tag=${store}-${what//[^A-Za-z0-9]/_}
  local one="$work/one-$tag" four="$work/four-$tag"
  : >"$one"
  : >"$four"
  for ((r = 1; r <= RUNS; r++)); do
    log "round $r of $RUNS: $what on $store, 1 connection and 4"
    if ((r % 2)); then
      measure "${p1% *}$path" "${p1#* }" >>"$one"
      measure "${p4% *}$path" "${p4#* }" >>"$four"
    else
      measure "${p4% *}$path" "${p4#* }" >>"$four"
      measure "${p1% *}$path" "${p1#* }" >>"$one"
    fi
  done
  log "req/s per round, $what on $store: 1 connection [$(awk '{ print $1 }' "$one" | xargs)]" \
    "4 connections [$(awk '{ print $1 }' "$four" | xargs)]"
  local rps1 p50_1 p99_1 rps4 p50_4 p99_4
  read -r rps1 p50_1 p99_1 < <(median_row "$one")
  read -r rps4 p50_4 p99_4 < <(median_row "$four")
  bench_row_unit pool anchor "$what, $store, 1 connection" "$rps1" "$p50_1" "$p99_1" req/s anchor
  bench_row_unit pool subject "$what, $store, 4 connections" "$rps4" "$p50_4" "$p99_4" req/s \
    "$(ratio "$rps4" "$rps1")x 1 connection"
}

run_pair() {
  local store=$1 env1=$2 env4=$3 p1 p4
  start_filled "$env1 NEXUS_STORAGE_METADATA_CONNECTIONS=1"
  p1=$FILLED
  start_filled "$env4 NEXUS_STORAGE_METADATA_CONNECTIONS=4"
  p4=$FILLED
  compare "$p1" "$p4" /api/me "GET /api/me" "$store"
  compare "$p1" "$p4" "/api/fs/ls?path=/many" "GET /api/fs/ls of $ENTRIES" "$store"
}

if pg_out=$("$REPO_DIR/tests/support/pg_cluster.sh" start --name bench 2>"$work/pg.err"); then
  pg_dir=$(sed -n 1p <<<"$pg_out")
  pg_uri=$(sed -n 2p <<<"$pg_out")
  bench_cleanup_add "'$REPO_DIR/tests/support/pg_cluster.sh' stop '$pg_dir'"
  # Two daemons of one deployment: one database, each its own host name.
  run_pair PostgreSQL "NEXUS_STORAGE_METADATA=$pg_uri NEXUS_DAEMON_HOST_NAME=pool-1" \
    "NEXUS_STORAGE_METADATA=$pg_uri NEXUS_DAEMON_HOST_NAME=pool-4"
else
  log "PostgreSQL left out: $(tail -n 1 "$work/pg.err")"
fi
run_pair SQLite "" ""
