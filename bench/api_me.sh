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
declare -A cpu_before
for name in "${!NEXUS_PIDS[@]}"; do cpu_before[$name]=$(cpu_seconds "${NEXUS_PIDS[$name]}"); done
result=$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")
read -r rps p50 p99 <<<"$result"
# Where the time goes: CPU per request of each service during the run.
requests=$(awk -v r="$rps" -v d="${WRK_DURATION%s}" 'BEGIN { print r * d }')
for name in nexus-api nexus-auth nexusd; do
  used=$(awk -v a="${cpu_before[$name]}" -v b="$(cpu_seconds "${NEXUS_PIDS[$name]}")" \
    -v n="$requests" 'BEGIN { printf "%.2f s CPU, %.0f us per request", b - a, (b - a) * 1e6 / n }')
  log "$name: $used"
done
bench_row api_me subject "GET /api/me (nexus-api)" "$rps" "$p50" "$p99"

log "wrk GET / on nginx"
before=$(tree_cpu_seconds "$NGINX_PID")
result=$(run_wrk "$NGINX_URL/")
read -r rps p50 p99 <<<"$result"
log "nginx: $(awk -v a="$before" -v b="$(tree_cpu_seconds "$NGINX_PID")" -v r="$rps" \
  -v d="${WRK_DURATION%s}" 'BEGIN { printf "%.2f s CPU, %.0f us per request", b - a, (b - a) * 1e6 / (r * d) }')"
bench_row api_me anchor "nginx return 200" "$rps" "$p50" "$p99"
