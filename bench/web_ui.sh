#!/usr/bin/env bash
# Scenario: the web UI in headless Chromium (Debian's chromium and
# chromium-driver, driven by python3-selenium; bench/lib/web_ui_probe.py).
#  - First load of / by a new visitor (fresh browser, cache disabled): the
#    bytes transferred (Resource Timing transferSize of the document and every
#    resource; encodedBodySize in the log) and the time to interactive (the
#    mark the page sets when its first view is usable, from navigation start).
#  - A folder of 10,000 entries: from the in-page navigation to the first
#    paint of its list.
#  - A 1 GiB upload picked in the page's file input against `curl -F` of the
#    same file to the same route (POST /api/fs/upload), alternating, the
#    stored file deleted after each so none is deduplicated against another.
# Each figure is the median of WEB_UI_RUNS runs (default 3), all in one run
# of one server. The targets are printed beside the values.
#
# Sizes can be made small to try the script: WEB_UI_UPLOAD_MIB (default
# 1024), WEB_UI_FOLDER_ENTRIES (10000), WEB_UI_RUNS (3).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"
need chromium "apt-get install chromium"
need chromedriver "apt-get install chromium-driver"
"$PY" -c 'import selenium' 2>/dev/null || die "python3-selenium is not installed (apt-get install python3-selenium)"

MiB=$((1 << 20))
BIG=$((${WEB_UI_UPLOAD_MIB:-1024} * MiB))
ENTRIES=${WEB_UI_FOLDER_ENTRIES:-10000}
RUNS=${WEB_UI_RUNS:-3}
PROBE=("$PY" "$BENCH_DIR/lib/web_ui_probe.py")

work=$(mktemp -d /tmp/nexus-bench-webui-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
need_free_gib "$work" $((BIG * 3 / (1024 * MiB) + 1))

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
username=$(ncurl -f "$NEXUS_URL/api/me" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["username"])') ||
  die "GET /api/me failed"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

log "first load of /: $RUNS fresh browsers"
transfers=() bodies=() interactives=()
while read -r transfer body interactive; do
  log "transferred $transfer bytes ($body of bodies), interactive at $interactive ms"
  transfers+=("$transfer") bodies+=("$body") interactives+=("$interactive")
done < <("${PROBE[@]}" first-load "$NEXUS_URL/" "$RUNS" || die "first-load probe failed")
[ ${#transfers[@]} = "$RUNS" ] || die "first-load probe gave ${#transfers[@]} of $RUNS runs"

log "a folder of $ENTRIES entries: creating it"
"$PY" - "$NEXUS_URL" "$NEXUS_TOKEN" "$ENTRIES" <<'PY' || die "could not make the folder"
import http.client, json, sys, threading, urllib.parse
url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlsplit(url)
assert u.hostname == "127.0.0.1", url
def work(first):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    for i in range(first, count, 8):
        body = json.dumps({"path": f"/many/d{i:05d}"})
        conn.request("POST", "/api/fs/mkdir", body=body,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"mkdir /many/d{i:05d}: HTTP {r.status}")
threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
PY
log "a folder of $ENTRIES entries: $RUNS navigations to it"
mapfile -t listings < <("${PROBE[@]}" listing "$NEXUS_URL/" "$NEXUS_TOKEN" "$username" /many "$RUNS" ||
  die "listing probe failed")
[ ${#listings[@]} = "$RUNS" ] || die "listing probe gave ${#listings[@]} of $RUNS runs"
log "list painted after: ${listings[*]} ms"

log "writing a $((BIG / MiB)) MiB random file"
random_file "$work/big.bin" "$BIG" "webui-$RANDOM"
t_curl=() t_browser=()
for ((i = 1; i <= RUNS; i++)); do
  log "upload $i of $RUNS: curl -F, then the browser's file input"
  t_curl+=("$(seconds_of curl_upload "$work/big.bin" /big.bin)")
  remove_remote /big.bin
  t=$("${PROBE[@]}" upload "$NEXUS_URL/" "$NEXUS_TOKEN" "$username" "$work/big.bin") ||
    die "upload probe failed"
  t_browser+=("$t")
  remove_remote /big.bin
  log "curl ${t_curl[-1]} s, browser $t s"
done

transfer_kb=$(awk -v b="$(median "${transfers[@]}")" 'BEGIN { printf "%.1f", b / 1000 }')
body_kb=$(awk -v b="$(median "${bodies[@]}")" 'BEGIN { printf "%.1f", b / 1000 }')
interactive_ms=$(median "${interactives[@]}")
listing_ms=$(median "${listings[@]}")
up_curl=$(mbps "$BIG" "$(median "${t_curl[@]}")")
up_browser=$(mbps "$BIG" "$(median "${t_browser[@]}")")
big_label="$((BIG / MiB)) MiB"

bench_row_unit web_ui subject "first load of / (bodies: $body_kb KB)" "$transfer_kb" - - KB \
  "target < 150 KB"
bench_row_unit web_ui subject "first load: time to interactive" "$interactive_ms" - - ms \
  "target < 300 ms"
bench_row_unit web_ui subject "$ENTRIES-entry folder: list painted" "$listing_ms" - - ms \
  "target < 500 ms"
bench_row_unit web_ui subject "browser upload $big_label" "$up_browser" - - MB/s \
  "$(ratio "$up_browser" "$up_curl")x curl -F (target >= 0.7)"
bench_row_unit web_ui anchor "curl -F $big_label" "$up_curl" - - MB/s anchor
