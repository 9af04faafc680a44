#!/usr/bin/env bash
# Scenario: GET /api/me through nexus-api (token validated by nexus-auth on
# every request) against nginx answering a fixed 200 — the cost of the
# gateway plus one gRPC round trip, relative to the fastest HTTP server at hand.
# First under wrk's saturating load, then paced: one client, one request at a
# time, ME_PACED_PAUSE_S (default 0.1) s apart, ME_PACED_RUNS (default 200)
# rounds alternating the two servers — the latency a person clicking through
# the API sees, where servers idle between requests and anything that sleeps
# while idle shows in p99.
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

work=$(mktemp -d /tmp/nexus-bench-me-XXXXXX)
bench_cleanup_add "rm -rf '$work'"

# The same request for a user who holds ME_FILES files (default 10000; 0
# skips it): the usage it answers must not cost more with more files.
files=${ME_FILES:-10000}
if [ "$files" -gt 0 ]; then
  log "$files small files for the user (WebDAV PUTs, 8 at once)"
  mkdir -p "$work/files"
  "$PY" - "$work/files" "$files" "$NEXUS_URL/dav/many" >"$work/puts.curlrc" <<'PY'
import os, sys
root, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    path = os.path.join(root, f"f{i:05d}")
    with open(path, "w") as f:
        f.write(f"{i}\n")
    print(f'upload-file = "{path}"\nurl = "{url}/f{i:05d}"\noutput = "/dev/null"')
PY
  [ "$(ncurl -o /dev/null -w '%{http_code}' -X MKCOL "$NEXUS_URL/dav/many/")" = 201 ] ||
    die "MKCOL /dav/many/ failed"
  made=$(ncurl --no-progress-meter --retry 5 --parallel --parallel-max 8 -w '%{http_code}\n' \
    -K "$work/puts.curlrc" | grep -cx 201 || true)
  [ "$made" = "$files" ] || die "$made of $files PUTs answered 201"
  log "wrk GET /api/me on nexus-api, the user holding $files files"
  before=$(cpu_seconds "${NEXUS_PIDS[nexusd]}")
  read -r rps p50 p99 <<<"$(run_wrk "$NEXUS_URL/api/me" -s "$BENCH_DIR/me.lua")"
  log "nexusd: $(awk -v a="$before" -v b="$(cpu_seconds "${NEXUS_PIDS[nexusd]}")" -v r="$rps" \
    -v d="${WRK_DURATION%s}" 'BEGIN { printf "%.0f us CPU per request", (b - a) * 1e6 / (r * d) }')"
  bench_row api_me subject "GET /api/me, user with $files files" "$rps" "$p50" "$p99"
fi

runs=${ME_PACED_RUNS:-200}
pause=${ME_PACED_PAUSE_S:-0.1}
log "paced: $runs rounds, one request at a time, $pause s apart"
"$PY" "$BENCH_DIR/lib/paced_get.py" "$runs" "$pause" "$work" \
  "me=$NEXUS_URL/api/me@$NEXUS_TOKEN" "nginx=$NGINX_URL/"
read -r me50 me99 <<<"$(percentiles "$work/t_me")"
read -r ng50 ng99 <<<"$(percentiles "$work/t_nginx")"
bench_row_unit api_me subject "GET /api/me paced (nexus-api)" "$me50" "$me50" "$me99" "ms p50" \
  "$(awk -v a="$me50" -v b="$ng50" 'BEGIN { printf "%+.2f ms vs nginx", a - b }')"
bench_row_unit api_me anchor "nginx return 200 paced" "$ng50" "$ng50" "$ng99" "ms p50" anchor
