#!/usr/bin/env bash
# Scenario: GET /api/me through nexus-api (token validated by nexus-auth on
# every request) against nginx answering a fixed 200 — the cost of the
# gateway plus one gRPC round trip, relative to the fastest HTTP server at hand.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need wrk "apt-get install wrk"
need curl "apt-get install curl"

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
[ "$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' -H "Authorization: Bearer $NEXUS_TOKEN" \
  "$NEXUS_URL/api/me")" = 200 ] || die "GET /api/me with the new token is not 200"
start_nginx

log "wrk GET /api/me on nexus-api"
result=$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")
read -r rps p50 p99 <<<"$result"
bench_row api_me subject "GET /api/me (nexus-api)" "$rps" "$p50" "$p99"

log "wrk GET / on nginx"
result=$(run_wrk "$NGINX_URL/")
read -r rps p50 p99 <<<"$result"
bench_row api_me anchor "nginx return 200" "$rps" "$p50" "$p99"
