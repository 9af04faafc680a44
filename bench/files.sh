#!/usr/bin/env bash
# Scenario: the Files API moving whole files. Upload of 100 MiB and 1 GiB
# random files through POST /api/files/upload (curl -F; the answer comes after
# the chunks are fsync'd and the row committed) against nginx storing the same
# file with a WebDAV PUT (body temp file on the same filesystem, then a
# rename), once followed by an fsync of the stored file (`sync FILE`) — the
# like-for-like durability — and once without. Download of the same files
# against nginx serving them (sendfile). Then the peak resident memory of
# nexus-api and nexusd while 8 clients upload 1 GiB each at once.
#
# Numbers are decimal MB/s (1e6 bytes). 100 MiB figures are the median of 3
# runs with 3 different files (so nexus cannot deduplicate one against the
# other); 1 GiB figures are one run. Every file is deleted after use.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"

MiB=$((1 << 20))
SMALL=$((100 * MiB))
BIG=$((1024 * MiB))
REPS=${FILES_REPS:-3}
PARALLEL=${FILES_PARALLEL:-8}
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-files-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
# Sources (100 MiB x REPS + 1 GiB), nginx's copies, nexus's chunks, headroom.
need_free_gib "$work" 6
mkdir -p "$work/src" "$work/www"

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
start_nginx_files "$work/www"

log "writing random files"
for ((i = 1; i <= REPS; i++)); do random_file "$work/src/small$i.bin" "$SMALL" "small$i-$RANDOM"; done
random_file "$work/src/big.bin" "$BIG" "big-$RANDOM"

# ---- helpers: each prints seconds (and leaves ids/paths for deletion) ----

# Uploads $1 through nexus-api; prints "<seconds> <file id>". Safe to run
# several at once (each has its own answer file).
nexus_upload() {
  local file=$1 out code t size id resp
  resp=$(mktemp "$work/resp-XXXXXX")
  out=$(ncurl -o "$resp" -w '%{http_code} %{time_total}' \
    -F "file=@$file;filename=$(basename "$file")" "$NEXUS_URL/api/files/upload") ||
    die "upload of $file failed (curl)"
  read -r code t <<<"$out"
  [ "$code" = 200 ] || die "upload of $file: HTTP $code $(head -c 300 "$resp")"
  read -r size id < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["size"], d["id"])' "$resp")
  rm -f "$resp"
  [ "$size" = "$(stat -c %s "$file")" ] || die "upload of $file: size $size in the answer"
  echo "$t $id"
}

nexus_delete() {
  local code
  code=$(ncurl -o /dev/null -w '%{http_code}' -X DELETE "$NEXUS_URL/api/files/$1")
  case $code in 200 | 204) ;; *) die "DELETE /api/files/$1: HTTP $code" ;; esac
}

# Downloads $1 (a URL path) from nexus-api to /dev/null; checks the size; prints seconds.
nexus_download() {
  local out code t n
  out=$(ncurl -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$NEXUS_URL$1")
  read -r code t n <<<"$out"
  [ "$code" = 200 ] && [ "$n" = "$2" ] || die "download $1: HTTP $code, $n bytes of $2"
  echo "$t"
}

# PUTs $1 to nginx as $2; with $3 = sync also fsyncs the stored file. Prints seconds.
nginx_put() {
  local file=$1 name=$2 mode=${3:-} t0 t1 code
  t0=$(now_s)
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -T "$file" "$NGINX_URL/$name")
  case $code in 201 | 204) ;; *) die "nginx PUT $name: HTTP $code" ;; esac
  [ "$mode" = sync ] && sync "$work/www/$name"
  t1=$(now_s)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

nginx_download() {
  local out code t n
  out=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$NGINX_URL/$1")
  read -r code t n <<<"$out"
  [ "$code" = 200 ] && [ "$n" = "$2" ] || die "nginx GET $1: HTTP $code, $n bytes of $2"
  echo "$t"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---- 100 MiB, REPS files ----
log "[$(elapsed) s]"
log "100 MiB x $REPS: upload and download through nexus-api, PUT (+sync) and GET on nginx"
: >"$work/t_up" >"$work/t_put_sync" >"$work/t_put" >"$work/t_down" >"$work/t_get"
for ((i = 1; i <= REPS; i++)); do
  f="$work/src/small$i.bin"
  out=$(nexus_upload "$f")
  read -r t id <<<"$out"
  echo "$t" >>"$work/t_up"
  if [ "$i" = 1 ]; then
    ncurl "$NEXUS_URL/api/files/$id/download" | cmp -s - "$f" || die "nexus download differs from $f"
  fi
  nexus_download "/api/files/$id/download" "$SMALL" >>"$work/t_down"
  nexus_delete "$id"
  nginx_put "$f" "s$i-sync.bin" sync >>"$work/t_put_sync"
  nginx_put "$f" "s$i.bin" >>"$work/t_put"
  nginx_download "s$i.bin" "$SMALL" >>"$work/t_get"
  rm -f "$work/www/s$i-sync.bin" "$work/www/s$i.bin"
done
up_s=$(mbps "$SMALL" "$(median <"$work/t_up")")
put_sync_s=$(mbps "$SMALL" "$(median <"$work/t_put_sync")")
put_s=$(mbps "$SMALL" "$(median <"$work/t_put")")
down_s=$(mbps "$SMALL" "$(median <"$work/t_down")")
get_s=$(mbps "$SMALL" "$(median <"$work/t_get")")

# ---- 1 GiB, once ----
log "[$(elapsed) s]"
log "1 GiB: the same, once"
f="$work/src/big.bin"
# Where the time goes: CPU seconds of each service for the 1 GiB transfers.
cpu_pair() { echo "$(cpu_seconds "${NEXUS_PIDS[nexus-api]}") $(cpu_seconds "${NEXUS_PIDS[nexusd]}")"; }
cpu_used() { # "<before pair>" "<after pair>" -> text
  awk -v b="$1" -v a="$2" 'BEGIN { split(b, x, " "); split(a, y, " ")
    printf "nexus-api %.2f s CPU, nexusd %.2f s CPU", y[1] - x[1], y[2] - x[2] }'
}
c0=$(cpu_pair)
out=$(nexus_upload "$f")
read -r t id <<<"$out"
up_b=$(mbps "$BIG" "$t")
c1=$(cpu_pair)
t=$(nexus_download "/api/files/$id/download" "$BIG")
down_b=$(mbps "$BIG" "$t")
c2=$(cpu_pair)
log "1 GiB upload: $(cpu_used "$c0" "$c1"); download: $(cpu_used "$c1" "$c2")"
nexus_delete "$id"
t=$(nginx_put "$f" big-sync.bin sync)
put_sync_b=$(mbps "$BIG" "$t")
t=$(nginx_put "$f" big.bin)
put_b=$(mbps "$BIG" "$t")
t=$(nginx_download big.bin "$BIG")
get_b=$(mbps "$BIG" "$t")
rm -f "$work/www/big-sync.bin" "$work/www/big.bin"

# ---- peak RSS during PARALLEL x 1 GiB uploads ----
log "[$(elapsed) s]"
log "$PARALLEL parallel uploads of the 1 GiB file (same content: its chunks are stored once)"
api_pid=${NEXUS_PIDS[nexus-api]}
d_pid=${NEXUS_PIDS[nexusd]}
echo 0 >"$work/rss_api"
echo 0 >"$work/rss_d"
sample_peak_rss "$api_pid" "$work/rss_api" &
s1=$!
sample_peak_rss "$d_pid" "$work/rss_d" &
s2=$!
bench_cleanup_add "kill $s1 $s2 2>/dev/null"
t0=$(now_s)
pids=()
for ((i = 1; i <= PARALLEL; i++)); do
  (nexus_upload "$f" >"$work/par$i") &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "a parallel upload failed"; done
t1=$(now_s)
kill "$s1" "$s2" 2>/dev/null || true
wait "$s1" "$s2" 2>/dev/null || true
par_mbps=$(mbps $((PARALLEL * BIG)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
rss_api=$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss_api")
rss_d=$(awk '{ printf "%.1f", $1 / 1024 }' "$work/rss_d")
hwm_api=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$api_pid/status")
hwm_d=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$d_pid/status")
log "peak VmRSS sampled: nexus-api $rss_api MiB, nexusd $rss_d MiB; VmHWM (whole run): nexus-api $hwm_api MiB, nexusd $hwm_d MiB"
for ((i = 1; i <= PARALLEL; i++)); do
  read -r _ id <"$work/par$i"
  nexus_delete "$id"
done
# A big file's chunks beyond the first few hundred are removed in the
# background after the delete answers: give that a bounded moment.
for ((i = 0; i < 300; i++)); do
  read -r nchunks _ < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
  [ "$nchunks" = 0 ] && break
  sleep 0.1
done
[ "$nchunks" = 0 ] || log "warning: $nchunks chunk files left 30 s after deleting every file"

log "scenario took $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s"

bench_row_unit files subject "upload 100 MiB (nexus-api)" "$up_s" - - MB/s \
  "$(ratio "$up_s" "$put_sync_s")x PUT+sync, $(ratio "$up_s" "$put_s")x PUT"
bench_row_unit files anchor "nginx PUT 100 MiB + sync" "$put_sync_s" - - MB/s anchor
bench_row_unit files anchor "nginx PUT 100 MiB" "$put_s" - - MB/s anchor
bench_row_unit files subject "upload 1 GiB (nexus-api)" "$up_b" - - MB/s \
  "$(ratio "$up_b" "$put_sync_b")x PUT+sync, $(ratio "$up_b" "$put_b")x PUT"
bench_row_unit files anchor "nginx PUT 1 GiB + sync" "$put_sync_b" - - MB/s anchor
bench_row_unit files anchor "nginx PUT 1 GiB" "$put_b" - - MB/s anchor
bench_row_unit files subject "download 100 MiB (nexus-api)" "$down_s" - - MB/s "$(ratio "$down_s" "$get_s")x GET"
bench_row_unit files anchor "nginx GET 100 MiB" "$get_s" - - MB/s anchor
bench_row_unit files subject "download 1 GiB (nexus-api)" "$down_b" - - MB/s "$(ratio "$down_b" "$get_b")x GET"
bench_row_unit files anchor "nginx GET 1 GiB" "$get_b" - - MB/s anchor
bench_row_unit files subject "$PARALLEL x 1 GiB parallel upload, total" "$par_mbps" - - MB/s -
bench_row_unit files subject "nexus-api peak RSS, $PARALLEL x 1 GiB up" "$rss_api" - - MiB "target < 100"
bench_row_unit files subject "nexusd peak RSS, $PARALLEL x 1 GiB up" "$rss_d" - - MiB "target < 100"
