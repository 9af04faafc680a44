#!/usr/bin/env bash
# Scenario: the `nexus` CLI against curl on the same server in the same run.
# `nexus put` of a 1 GiB random file against `curl -F` to the same route
# (POST /api/fs/upload), `nexus get` against `curl -o` (GET /api/fs/download),
# each file written to local disk; then `nexus put -r` of 2,000 small files
# with -j 8 against -j 1 (files/s). The stored file is deleted between the two
# uploads, so neither is deduplicated against the other; the two small-file
# trees hold different bytes for the same reason.
#
# Every figure is the median of CLI_RUNS rounds (default 3). Within a round
# the subject and its anchor run back to back, and the order flips from one
# round to the next, so neither always runs on a warmer or colder cache.
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
RUNS=${CLI_RUNS:-3}
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

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One tree of small files per upload: trees of the same bytes would be
# deduplicated against each other and cost the second upload less.
log "writing a $((BIG / MiB)) MiB random file and $((2 * RUNS)) x $SMALL_COUNT files of $SMALL_BYTES bytes"
random_file "$work/big.bin" "$BIG" "big-$RANDOM"
for ((r = 1; r <= RUNS; r++)); do
  for jobs in 1 8; do
    mkdir -p "$work/tree-$r-j$jobs"
    "$PY" - "$work/tree-$r-j$jobs" "$SMALL_COUNT" "$SMALL_BYTES" <<'PY'
import os, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    d = os.path.join(root, f"d{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
  done
done

# Each upload starts with the file absent (deleted after the one before), so
# no upload is deduplicated against another.
nexus_upload() { seconds_of "$NEXUS_CLI" put "$work/big.bin" /big.bin; }
nexus_download() {
  seconds_of "$NEXUS_CLI" get /big.bin "$work/copy.bin"
  cmp -s "$work/big.bin" "$work/copy.bin" || die "nexus get's download differs"
  rm -f "$work/copy.bin"
}
curl_upload_timed() { seconds_of curl_upload "$work/big.bin" /big.bin; }
curl_download_timed() {
  seconds_of curl_download /big.bin "$work/copy.bin"
  cmp -s "$work/big.bin" "$work/copy.bin" || die "curl's download differs"
  rm -f "$work/copy.bin"
}

declare -a up_nexus_s up_curl_s down_nexus_s down_curl_s j1_s j8_s
for ((r = 1; r <= RUNS; r++)); do
  log "round $r of $RUNS: $((BIG / MiB)) MiB up and down (nexus and curl), then -j 1 and -j 8"
  if ((r % 2)); then
    up_curl_s+=("$(curl_upload_timed)")
    down_curl_s+=("$(curl_download_timed)")
    remove_remote /big.bin
    up_nexus_s+=("$(nexus_upload)")
    down_nexus_s+=("$(nexus_download)")
    remove_remote /big.bin
    j1_s+=("$(seconds_of "$NEXUS_CLI" put -r -j 1 "$work/tree-$r-j1" "/small-$r-j1/")")
    j8_s+=("$(seconds_of "$NEXUS_CLI" put -r -j 8 "$work/tree-$r-j8" "/small-$r-j8/")")
  else
    up_nexus_s+=("$(nexus_upload)")
    down_nexus_s+=("$(nexus_download)")
    remove_remote /big.bin
    up_curl_s+=("$(curl_upload_timed)")
    down_curl_s+=("$(curl_download_timed)")
    remove_remote /big.bin
    j8_s+=("$(seconds_of "$NEXUS_CLI" put -r -j 8 "$work/tree-$r-j8" "/small-$r-j8/")")
    j1_s+=("$(seconds_of "$NEXUS_CLI" put -r -j 1 "$work/tree-$r-j1" "/small-$r-j1/")")
  fi
done

rates() { # bytes-or-count, unit (mb|n), seconds...
  local amount=$1 kind=$2 t
  shift 2
  for t in "$@"; do
    if [ "$kind" = mb ]; then mbps "$amount" "$t"; else awk -v n="$amount" -v s="$t" 'BEGIN { printf "%.1f", n / s }'; fi
    echo
  done
}
all_runs() { tr '\n' ' ' | sed 's/ $//'; }
up_nexus_all=$(rates "$BIG" mb "${up_nexus_s[@]}" | all_runs)
up_curl_all=$(rates "$BIG" mb "${up_curl_s[@]}" | all_runs)
down_nexus_all=$(rates "$BIG" mb "${down_nexus_s[@]}" | all_runs)
down_curl_all=$(rates "$BIG" mb "${down_curl_s[@]}" | all_runs)
j1_all=$(rates "$SMALL_COUNT" n "${j1_s[@]}" | all_runs)
j8_all=$(rates "$SMALL_COUNT" n "${j8_s[@]}" | all_runs)
log "per round, in order: nexus put [$up_nexus_all] curl -F [$up_curl_all]" \
  "nexus get [$down_nexus_all] curl -o [$down_curl_all] -j 1 [$j1_all] -j 8 [$j8_all]"

up_nexus=$(tr ' ' '\n' <<<"$up_nexus_all" | median)
up_curl=$(tr ' ' '\n' <<<"$up_curl_all" | median)
down_nexus=$(tr ' ' '\n' <<<"$down_nexus_all" | median)
down_curl=$(tr ' ' '\n' <<<"$down_curl_all" | median)
rate_j1=$(tr ' ' '\n' <<<"$j1_all" | median)
rate_j8=$(tr ' ' '\n' <<<"$j8_all" | median)
big_label="$((BIG / MiB)) MiB, median of $RUNS"

bench_row_unit cli subject "nexus put $big_label" "$up_nexus" - - MB/s \
  "$(ratio "$up_nexus" "$up_curl")x curl -F (target >= 0.95)"
bench_row_unit cli anchor "curl -F $big_label" "$up_curl" - - MB/s anchor
bench_row_unit cli subject "nexus get $big_label" "$down_nexus" - - MB/s \
  "$(ratio "$down_nexus" "$down_curl")x curl -o (target >= 0.95)"
bench_row_unit cli anchor "curl -o $big_label" "$down_curl" - - MB/s anchor
bench_row_unit cli subject "nexus put -r -j 8, $SMALL_COUNT files, median of $RUNS" "$rate_j8" - - files/s \
  "$(ratio "$rate_j8" "$rate_j1")x -j 1 (target >= 3)"
bench_row_unit cli anchor "nexus put -r -j 1, $SMALL_COUNT files, median of $RUNS" "$rate_j1" - - files/s anchor
