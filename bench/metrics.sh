#!/usr/bin/env bash
# Scenario: what /metrics costs the request path. The authenticated small
# request (GET /api/me) under wrk's saturating load, first with nothing
# scraping, then with /metrics fetched every METRICS_SCRAPE_S (default 1) s
# as a Prometheus would (far more often than its usual 15 s), then without
# again; the anchor is the mean of the two runs without, so a drift of the
# machine during the run does not pass for a cost. Target: a drop under 3%.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need wrk "apt-get install wrk"
need curl "apt-get install curl"

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
[ "$(ncurl -o /dev/null -w '%{http_code}' "$NEXUS_URL/metrics")" = 200 ] ||
  die "GET /metrics from 127.0.0.1 is not 200"

log "wrk GET /api/me, /metrics not scraped"
read -r a1 a1_50 a1_99 <<<"$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")"

interval=${METRICS_SCRAPE_S:-1}
log "wrk GET /api/me, /metrics scraped every $interval s"
(
  while :; do
    curl -s --noproxy '*' -o /dev/null "$NEXUS_URL/metrics" || true
    sleep "$interval"
  done
) &
scraper=$!
bench_cleanup_add "kill $scraper 2>/dev/null || true"
read -r b b50 b99 <<<"$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")"
kill "$scraper" 2>/dev/null || true
wait "$scraper" 2>/dev/null || true

log "wrk GET /api/me, /metrics not scraped (again)"
read -r a2 a2_50 a2_99 <<<"$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")"

a=$(awk -v x="$a1" -v y="$a2" 'BEGIN { printf "%.1f", (x + y) / 2 }')
a50=$(awk -v x="$a1_50" -v y="$a2_50" 'BEGIN { printf "%.3f", (x + y) / 2 }')
a99=$(awk -v x="$a1_99" -v y="$a2_99" 'BEGIN { printf "%.3f", (x + y) / 2 }')
drop=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.1f%%", (b - a) * 100 / a }')
log "GET /api/me: $a1 and $a2 req/s without scraping, $b with: $drop (target: above -3%)"
bench_row_unit metrics subject "GET /api/me, /metrics scraped every ${interval} s" "$b" "$b50" \
  "$b99" "" "$drop vs not scraped"
bench_row_unit metrics anchor "GET /api/me, not scraped (mean of before and after)" "$a" "$a50" \
  "$a99" "" anchor
