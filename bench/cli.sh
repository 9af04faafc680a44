#!/usr/bin/env bash
# Scenario: the `nexus` CLI against curl on the same server in the same run.
# `nexus put` of a 1 GiB random file against `curl -F` to the same route
# (POST /api/fs/upload), `nexus get` against `curl -o` (GET /api/fs/download),
# each file written to local disk; then `nexus put -r` of 2,000 small files
# with -j 8 against -j 1 (files/s). The stored file is deleted between the two
# uploads, so neither is deduplicated against the other; the two small-file
# trees hold different bytes for the same reason.
#
# Sizes can be made small to try the script: CLI_BIG_MIB (default 1024),
# CLI_SMALL_COUNT (2000), CLI_SMALL_BYTES (4096).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"

MiB=$((1 << 20))
BIG=$((${CLI_BIG_MIB:-1024} * MiB))
SMALL_COUNT=${CLI_SMALL_COUNT:-2000}
SMALL_BYTES=${CLI_SMALL_BYTES:-4096}
NEXUS_CLI="$BUILD_DIR/src/cli/nexus"
[ -x "$NEXUS_CLI" ] || die "$NEXUS_CLI is not built (make build)"

work=$(mktemp -d /tmp/nexus-bench-cli-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
need_free_gib "$work" $((BIG * 4 / (1024 * MiB) + 1))

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
# The CLI reads the server and token from the environment; its config file
# goes to a home of its own so nothing of the user's is read or written.
export NEXUS_SERVER="$NEXUS_URL" HOME="$work/home"
mkdir -p "$HOME"

curl_download() {
  local code
  code=$(ncurl -o "$2" -w '%{http_code}' "$NEXUS_URL/api/fs/download?path=$1")
  [ "$code" = 200 ] || die "curl -o download: HTTP $code"
}

log "writing a $((BIG / MiB)) MiB random file and 2 x $SMALL_COUNT files of $SMALL_BYTES bytes"
random_file "$work/big.bin" "$BIG" "big-$RANDOM"
for tree in one eight; do
  mkdir -p "$work/$tree"
  "$PY" - "$work/$tree" "$SMALL_COUNT" "$SMALL_BYTES" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    d = os.path.join(root, f"d{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
done

log "upload: curl -F, then nexus put (the file deleted in between)"
t_curl_up=$(seconds_of curl_upload "$work/big.bin" /big.bin)
remove_remote /big.bin
t_nexus_up=$(seconds_of "$NEXUS_CLI" put "$work/big.bin" /big.bin)

log "download: curl -o, then nexus get"
t_curl_down=$(seconds_of curl_download /big.bin "$work/curl-copy.bin")
cmp -s "$work/big.bin" "$work/curl-copy.bin" || die "curl's download differs"
rm -f "$work/curl-copy.bin"
t_nexus_down=$(seconds_of "$NEXUS_CLI" get /big.bin "$work/nexus-copy.bin")
cmp -s "$work/big.bin" "$work/nexus-copy.bin" || die "nexus get's download differs"
rm -f "$work/nexus-copy.bin"
remove_remote /big.bin

log "$SMALL_COUNT small files: nexus put -r -j 1, then -j 8"
t_j1=$(seconds_of "$NEXUS_CLI" put -r -j 1 "$work/one" /small-j1/)
t_j8=$(seconds_of "$NEXUS_CLI" put -r -j 8 "$work/eight" /small-j8/)

up_nexus=$(mbps "$BIG" "$t_nexus_up")
up_curl=$(mbps "$BIG" "$t_curl_up")
down_nexus=$(mbps "$BIG" "$t_nexus_down")
down_curl=$(mbps "$BIG" "$t_curl_down")
rate_j1=$(awk -v n="$SMALL_COUNT" -v s="$t_j1" 'BEGIN { printf "%.1f", n / s }')
rate_j8=$(awk -v n="$SMALL_COUNT" -v s="$t_j8" 'BEGIN { printf "%.1f", n / s }')
big_label="$((BIG / MiB)) MiB"

bench_row_unit cli subject "nexus put $big_label" "$up_nexus" - - MB/s \
  "$(ratio "$up_nexus" "$up_curl")x curl -F (target >= 0.95)"
bench_row_unit cli anchor "curl -F $big_label" "$up_curl" - - MB/s anchor
bench_row_unit cli subject "nexus get $big_label" "$down_nexus" - - MB/s \
  "$(ratio "$down_nexus" "$down_curl")x curl -o (target >= 0.95)"
bench_row_unit cli anchor "curl -o $big_label" "$down_curl" - - MB/s anchor
bench_row_unit cli subject "nexus put -r -j 8, $SMALL_COUNT files" "$rate_j8" - - files/s \
  "$(ratio "$rate_j8" "$rate_j1")x -j 1 (target >= 3)"
bench_row_unit cli anchor "nexus put -r -j 1, $SMALL_COUNT files" "$rate_j1" - - files/s anchor
