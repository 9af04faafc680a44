#!/usr/bin/env bash
# Scenario: what deduplication saves and what a big folder costs in the tree.
#
# 1. Ten versions of a 100 MiB random file, each the same base with 1 KiB of
#    new bytes inserted at a random offset, uploaded to ten different paths
#    (POST /api/fs/upload). Reported: the bytes of all chunk files on disk
#    divided by one version's size (1.0 would be perfect dedup, 10 none), and
#    the median upload rate of a version.
# 2. A folder of 10,000 files of 4 KiB random bytes each (so 10,000 chunk
#    files), uploaded with POST /api/fs/upload over 4 keep-alive
#    connections. Reported: the upload rate, `ls` of the folder (median and
#    worst of 10), one recursive delete of it (the answer; chunk files past
#    the first 256 are removed in the background, so also the time until the
#    last one is gone) — against nginx listing a directory of 10,000 such
#    files (autoindex, JSON) and deleting it (WebDAV DELETE).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"

MiB=$((1 << 20))
SIZE=$((100 * MiB))
VERSIONS=${DEDUP_VERSIONS:-10}
ENTRIES=${DEDUP_ENTRIES:-10000}
ENTRY_BYTES=4096
LS_REPS=10
FS_LOAD="$BENCH_DIR/lib/fs_load.py"
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-dedup-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
need_free_gib "$work" 3
mkdir -p "$work/www"

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
start_nginx_files "$work/www"

# ---- 1. versions ----
log "$VERSIONS versions of a 100 MiB file, 1 KiB inserted at a random offset in each"
random_file "$work/base.bin" "$SIZE" "dedup-$RANDOM"
: >"$work/t_up"
for ((i = 1; i <= VERSIONS; i++)); do
  off=$(((RANDOM * 32768 + RANDOM) % SIZE))
  { head -c "$off" "$work/base.bin"; head -c 1024 /dev/urandom; tail -c +"$((off + 1))" "$work/base.bin"; } >"$work/v.bin"
  out=$(ncurl -o "$work/resp.json" -w '%{http_code} %{time_total}' \
    -F "path=/dedup/v$i.bin" -F "file=@$work/v.bin;filename=v$i.bin" "$NEXUS_URL/api/fs/upload")
  read -r code t <<<"$out"
  [ "$code" = 200 ] || die "upload of version $i: HTTP $code $(head -c 300 "$work/resp.json")"
  echo "$t" >>"$work/t_up"
  log "version $i: 1 KiB at offset $off, uploaded in ${t}s"
done
version_size=$((SIZE + 1024))
read -r nchunks chunk_bytes < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
dedup_x=$(awk -v b="$chunk_bytes" -v v="$version_size" 'BEGIN { printf "%.2f", b / v }')
log "chunks on disk: $nchunks files, $chunk_bytes bytes = ${dedup_x}x one version ($VERSIONS versions uploaded)"
up_t=$(sort -g "$work/t_up" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
up_mbps=$(mbps "$version_size" "$up_t")
code=$(ncurl -o /dev/null -w '%{http_code}' -X DELETE "$NEXUS_URL/api/fs/delete?path=/dedup")
[ "$code" = 200 ] || [ "$code" = 204 ] || die "DELETE /dedup: HTTP $code"
rm -f "$work/base.bin" "$work/v.bin"

# ---- 2. a folder of ENTRIES ----
read -r chunks_before _ < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
log "upload x $ENTRIES files of $ENTRY_BYTES bytes through nexus-api (4 connections)"
up_s=$("$PY" "$FS_LOAD" uploads "$NEXUS_URL" "$NEXUS_TOKEN" /big "$ENTRIES" 4 "$ENTRY_BYTES")
up_rate=$(awk -v n="$ENTRIES" -v s="$up_s" 'BEGIN { printf "%.0f", n / s }')
read -r chunks_full _ < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
[ "$chunks_full" -ge $((chunks_before + ENTRIES)) ] || die "$((chunks_full - chunks_before)) new chunk files for $ENTRIES distinct files"
n=$("$PY" "$FS_LOAD" count "$NEXUS_URL" "$NEXUS_TOKEN" /big)
[ "$n" = "$ENTRIES" ] || die "ls /big lists $n entries, not $ENTRIES"

log "the same folder for nginx"
mkdir -p "$work/www/big"
(cd "$work/www/big" && "$PY" -c 'import os,sys
for i in range(int(sys.argv[1])):
    with open("f%05d" % i, "wb") as f: f.write(os.urandom(int(sys.argv[2])))' "$ENTRIES" "$ENTRY_BYTES")
n=$(curl -s --noproxy '*' "$NGINX_URL/big/" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = "$ENTRIES" ] || die "nginx lists $n entries, not $ENTRIES"

log "ls x $LS_REPS each"
: >"$work/t_ls" >"$work/t_ngx"
for ((i = 0; i < LS_REPS; i++)); do
  out=$(ncurl -o /dev/null -w '%{http_code} %{time_total}' "$NEXUS_URL/api/fs/ls?path=/big")
  read -r code t <<<"$out"
  [ "$code" = 200 ] || die "ls /big: HTTP $code"
  awk -v t="$t" 'BEGIN { printf "%.3f\n", t * 1000 }' >>"$work/t_ls"
  out=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{time_total}' "$NGINX_URL/big/")
  read -r code t <<<"$out"
  [ "$code" = 200 ] || die "nginx GET /big/: HTTP $code"
  awk -v t="$t" 'BEGIN { printf "%.3f\n", t * 1000 }' >>"$work/t_ngx"
done
read -r ls50 ls99 <<<"$(percentiles "$work/t_ls")"
read -r ngx50 ngx99 <<<"$(percentiles "$work/t_ngx")"

log "recursive delete of each"
out=$(ncurl -o /dev/null -w '%{http_code} %{time_total}' -X DELETE "$NEXUS_URL/api/fs/delete?path=/big")
read -r code t <<<"$out"
[ "$code" = 200 ] || [ "$code" = 204 ] || die "DELETE /big: HTTP $code"
del_ms=$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')
del_started=$(now_s)
for ((i = 0; i < 600; i++)); do
  read -r nleft _ < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
  [ "$nleft" -le "$chunks_before" ] && break
  sleep 0.05
done
[ "$nleft" -le "$chunks_before" ] || die "$((nleft - chunks_before)) chunk files left 30 s after the delete"
gone_ms=$(awk -v a="$del_started" -v b="$(now_s)" -v d="$del_ms" 'BEGIN { printf "%.1f", d + (b - a) * 1000 }')
code=$(ncurl -o /dev/null -w '%{http_code}' "$NEXUS_URL/api/fs/ls?path=/big")
[ "$code" = 404 ] || die "ls /big after the delete: HTTP $code"
out=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{time_total}' -X DELETE "$NGINX_URL/big/")
read -r code t <<<"$out"
[ "$code" = 204 ] || die "nginx DELETE /big/: HTTP $code"
[ ! -e "$work/www/big" ] || die "nginx left /big behind"
ngx_del_ms=$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')

log "scenario took $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s"

bench_row_unit dedup subject "$VERSIONS versions: chunk bytes / 1 version" "$dedup_x" - - x "target <= 1.3"
bench_row_unit dedup subject "upload of one version (median)" "$up_mbps" - - MB/s -
bench_row_unit dedup subject "upload x $ENTRIES files of 4 KiB, 4 conns" "$up_rate" - - "files/s" -
bench_row_unit dedup subject "ls of $ENTRIES files (nexus-api)" "$ls50" "$ls50" "$ls99" "ms p50" \
  "$(ratio "$ls50" "$ngx50")x nginx time"
bench_row_unit dedup anchor "nginx autoindex json, $ENTRIES files" "$ngx50" "$ngx50" "$ngx99" "ms p50" anchor
bench_row_unit dedup subject "recursive delete of them (nexus-api)" "$del_ms" - - ms \
  "$(ratio "$del_ms" "$ngx_del_ms")x nginx time"
bench_row_unit dedup subject "... until their last chunk file is gone" "$gone_ms" - - ms \
  "$(ratio "$gone_ms" "$ngx_del_ms")x nginx time"
bench_row_unit dedup anchor "nginx WebDAV DELETE of them" "$ngx_del_ms" - - ms anchor
