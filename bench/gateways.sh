#!/usr/bin/env bash
# Scenario: the small-request rate with two gateways against one. nexus-api
# keeps no state of its own, so several may serve the same nexus-auth and
# nexusd (on one machine here; on several in a scaled-out setup). wrk sends
# GET /api/me (the token checked by nexus-auth, the usage read from nexusd)
# with GATEWAYS_CONNECTIONS connections (default 64) in total: first all to
# one gateway, then half to each of two, two wrk processes at once, their
# rates summed. Runs alternate the two layouts GATEWAYS_RUNS times (default
# 3); figures are medians.
#
# On one 2-core machine both layouts share the same cores with the backends
# and wrk, so this measures what a second gateway costs or gains where the
# backends are the bound, not the scaling a second machine would give.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need wrk "apt-get install wrk"
need curl "apt-get install curl"

CONNECTIONS=${GATEWAYS_CONNECTIONS:-64}
RUNS=${GATEWAYS_RUNS:-3}

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN

# A second nexus-api on the same data dir (its sockets) and backends, with
# the S3 listener off so that nothing else binds twice.
port2=$(free_port)
spawn_nexus_service nexus-api nexus-api-2 NEXUS_GATEWAY_LISTEN="127.0.0.1:$port2" NEXUS_S3_LISTEN=
NEXUS_URL2="http://127.0.0.1:$port2"
wait_http_200 "$NEXUS_URL2/healthz" 10 || {
  tail -n 20 "$NEXUS_DATA_DIR_BENCH/nexus-api-2.log" >&2
  die "the second nexus-api did not become healthy"
}
for url in "$NEXUS_URL" "$NEXUS_URL2"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' -H "Authorization: Bearer $NEXUS_TOKEN" \
    "$url/api/me")" = 200 ] || die "GET $url/api/me is not 200"
done

one_gateway() {
  WRK_CONNECTIONS=$CONNECTIONS run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua" 2>/dev/null
}
two_gateways() {
  local half=$((CONNECTIONS / 2)) a b
  WRK_CONNECTIONS=$half WRK_THREADS=1 run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua" \
    >"$NEXUS_DATA_DIR_BENCH/wrk-a" 2>/dev/null &
  a=$!
  WRK_CONNECTIONS=$half WRK_THREADS=1 run_wrk "$NEXUS_URL2/api/me" -s "$BENCH_DIR/me.lua" \
    >"$NEXUS_DATA_DIR_BENCH/wrk-b" 2>/dev/null &
  b=$!
  wait "$a" || die "wrk against the first gateway failed"
  wait "$b" || die "wrk against the second gateway failed"
  # Summed rates; the latencies of the slower of the two.
  awk '{ rps += $1; if ($2 > p50) p50 = $2; if ($3 > p99) p99 = $3 }
       END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' \
    "$NEXUS_DATA_DIR_BENCH/wrk-a" "$NEXUS_DATA_DIR_BENCH/wrk-b"
}

: >"$NEXUS_DATA_DIR_BENCH/one"
: >"$NEXUS_DATA_DIR_BENCH/two"
for ((r = 1; r <= RUNS; r++)); do
  log "round $r of $RUNS: GET /api/me, $CONNECTIONS connections to one gateway, then split over two"
  if ((r % 2)); then
    one_gateway >>"$NEXUS_DATA_DIR_BENCH/one"
    two_gateways >>"$NEXUS_DATA_DIR_BENCH/two"
  else
    two_gateways >>"$NEXUS_DATA_DIR_BENCH/two"
    one_gateway >>"$NEXUS_DATA_DIR_BENCH/one"
  fi
done
log "req/s per round: one gateway [$(awk '{ print $1 }' "$NEXUS_DATA_DIR_BENCH/one" | xargs)]" \
  "two gateways [$(awk '{ print $1 }' "$NEXUS_DATA_DIR_BENCH/two" | xargs)]"

# The median round by rate, with its latencies.
read -r rps1 p50_1 p99_1 < <(median_row "$NEXUS_DATA_DIR_BENCH/one")
read -r rps2 p50_2 p99_2 < <(median_row "$NEXUS_DATA_DIR_BENCH/two")
bench_row_unit gateways subject "GET /api/me, two gateways, median of $RUNS" "$rps2" "$p50_2" "$p99_2" \
  req/s "$(ratio "$rps2" "$rps1")x one gateway"
bench_row_unit gateways anchor "GET /api/me, one gateway, median of $RUNS" "$rps1" "$p50_1" "$p99_1" \
  req/s anchor
