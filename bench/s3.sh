#!/usr/bin/env bash
# Scenario: the S3 API on its own listener, driven by the clients people use
# with it, against the routes and servers that do the same job.
#
# - `aws s3 cp` upload of a 1 GiB random file (awscli's defaults: 8 MiB
#   parts, 10 at once, once multipart uploads exist; S3_THRESHOLD raises its
#   multipart threshold to send one PUT) against POST /api/files/upload of
#   a file of the same size (curl -F).
# - `aws s3 cp` download of it to stdout (one stream, as curl -o /dev/null),
#   and to a file (awscli's ranged parts at once), against nginx serving
#   the same bytes (sendfile).
# - The client's own ceiling: the same awscli commands against nginx, which
#   answers a path-style GET (and awscli's ranged GETs) from the file and
#   takes an upload as one PUT (nginx has no multipart uploads, so awscli's
#   multipart threshold is raised above the file's size for it). awscli
#   hashes every byte it sends (SHA-256 and MD5) on the same 2 cores, so
#   these say how much of the gap to curl and nginx is the client's.
# - ListObjectsV2 of a bucket of 10,000 keys, page by page (max-keys=1000,
#   continuation tokens), signed by curl --aws-sigv4, in ms per page; against
#   nginx's JSON autoindex of a folder of the same 10,000 files (the whole
#   folder at once: one page of ours holds a tenth of it).
#
# Big-file figures are the median of S3_RUNS rounds (default 3), the order
# of subject and anchor flipping from one round to the next; each round uses
# fresh random files, deleted after it. Listing figures are the median and
# p99 of every page over S3_LISTS full listings (default 5) after a warm-up.
#
# Sizes can be made small to try the script: S3_BIG_MIB (default 1024),
# S3_KEYS (10000), S3_RUNS (3), S3_LISTS (5).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
AWS=${AWS:-/usr/bin/aws}
[ -x "$AWS" ] || die "$AWS is not installed (apt-get install awscli)"

MiB=$((1 << 20))
BIG=$((${S3_BIG_MIB:-1024} * MiB))
KEYS=${S3_KEYS:-10000}
RUNS=${S3_RUNS:-3}
LISTS=${S3_LISTS:-5}
PAGE=1000
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-s3-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
need_free_gib "$work" $((BIG * 5 / (1024 * MiB) + 1))
mkdir -p "$work/src" "$work/www/many" "$work/www/ngx"

s3_port=$(free_port)
BENCH_NEXUS_ENV="NEXUS_S3_LISTEN=127.0.0.1:$s3_port ${BENCH_NEXUS_ENV:-}" start_nexus
S3_URL="http://127.0.0.1:$s3_port"
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
read -r ACCESS SECRET < <(ncurl -X POST "$NEXUS_URL/api/s3-keys" |
  "$PY" -c 'import json,sys; k=json.load(sys.stdin); print(k["access_key"], k["secret_key"])') ||
  die "POST /api/s3-keys failed"
start_nginx_files "$work/www"

# awscli with this key only: no profile, no instance metadata, no pager.
cat >"$work/aws-config" <<CONF
[default]
region = us-east-1
s3 =
  addressing_style = path
${S3_THRESHOLD:+  multipart_threshold = $S3_THRESHOLD}
CONF
# The same against nginx: one PUT for any size.
cat >"$work/aws-config-nginx" <<CONF
[default]
region = us-east-1
s3 =
  addressing_style = path
  multipart_threshold = 64GB
CONF
aws_at() {
  local url=$1 config=$2
  shift 2
  env -u AWS_PROFILE AWS_CONFIG_FILE="$config" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_ACCESS_KEY_ID="$ACCESS" AWS_SECRET_ACCESS_KEY="$SECRET" AWS_EC2_METADATA_DISABLED=true \
    AWS_PAGER="" "$AWS" --endpoint-url "$url" --no-progress "$@"
}
aws() { aws_at "$S3_URL" "$work/aws-config" "$@"; }
aws_nginx() { aws_at "$NGINX_URL" "$work/aws-config-nginx" "$@"; }
# curl signing as S3 clients do (7.88 does not send the payload hash itself).
scurl() {
  curl -s --noproxy '*' --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

bucket=bench
code=$(scurl -o /dev/null -w '%{http_code}' -X PUT "$S3_URL/$bucket")
[ "$code" = 200 ] || die "CreateBucket: HTTP $code"

# ---- timed steps: each prints seconds ------------------------------------------

# On failure: awscli's own words and the end of the services' logs.
aws_failed() {
  tail -n 20 "$work/aws.err" "$NEXUS_DATA_DIR_BENCH/nexus-api.log" "$NEXUS_DATA_DIR_BENCH/nexusd.log" >&2 || true
  die "$1"
}
aws_put() { aws s3 cp --only-show-errors "$1" "s3://$bucket/$2" 2>"$work/aws.err" || aws_failed "aws s3 cp upload of $2 failed"; }
aws_get() {
  local n
  n=$(aws s3 cp --only-show-errors "s3://$bucket/$1" - 2>"$work/aws.err" | wc -c) || aws_failed "aws s3 cp download of $1 failed"
  [ "$n" = "$BIG" ] || die "aws s3 cp download of $1: $n bytes of $BIG"
}
files_upload() {
  local code
  code=$(ncurl -o /dev/null -w '%{http_code}' -F "file=@$1;filename=$(basename "$1")" \
    "$NEXUS_URL/api/files/upload")
  [ "$code" = 200 ] || [ "$code" = 201 ] || die "POST /api/files/upload: HTTP $code"
}
# awscli's usual download: to a file, in ranged parts at once.
aws_get_file() {
  aws s3 cp --only-show-errors "s3://$bucket/$1" "$work/down.bin" 2>"$work/aws.err" || aws_failed "aws s3 cp download of $1 to a file failed"
  [ "$(stat -c %s "$work/down.bin")" = "$BIG" ] || die "aws s3 cp download of $1 to a file: wrong size"
  rm -f "$work/down.bin"
}
nginx_get() {
  local out code n
  out=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{size_download}' "$NGINX_URL/$1")
  read -r code n <<<"$out"
  [ "$code" = 200 ] && [ "$n" = "$BIG" ] || die "nginx GET: HTTP $code, $n bytes of $BIG"
}
# awscli against nginx: ngx/ is the bucket.
aws_nginx_put() {
  aws_nginx s3 cp --only-show-errors "$1" "s3://ngx/$2" 2>"$work/aws.err" || aws_failed "aws s3 cp upload to nginx failed"
  [ "$(stat -c %s "$work/www/ngx/$2")" = "$BIG" ] || die "aws s3 cp upload to nginx: wrong size"
}
aws_nginx_get() {
  local n
  n=$(aws_nginx s3 cp --only-show-errors "s3://ngx/$1" - 2>"$work/aws.err" | wc -c) || aws_failed "aws s3 cp download from nginx failed"
  [ "$n" = "$BIG" ] || die "aws s3 cp download from nginx: $n bytes of $BIG"
}

# ---- the 1 GiB rounds ----------------------------------------------------------

big_mib=$((BIG / MiB))
declare -a put_s up_s get_s file_s nginx_get_s ngx_put_s ngx_get_s
for ((r = 1; r <= RUNS; r++)); do
  log "[$(elapsed) s] round $r of $RUNS: $big_mib MiB aws s3 cp up and down (Nexus, nginx), /api/files/upload, nginx GET"
  random_file "$work/src/a.bin" "$BIG" "s3-a$r-$RANDOM"
  random_file "$work/src/b.bin" "$BIG" "s3-b$r-$RANDOM"
  cp "$work/src/a.bin" "$work/www/ngx/big.bin"
  if ((r % 2)); then
    up_s+=("$(seconds_of files_upload "$work/src/b.bin")")
    put_s+=("$(seconds_of aws_put "$work/src/a.bin" big.bin)")
    ngx_put_s+=("$(seconds_of aws_nginx_put "$work/src/b.bin" up.bin)")
    get_s+=("$(seconds_of aws_get big.bin)")
    ngx_get_s+=("$(seconds_of aws_nginx_get big.bin)")
    file_s+=("$(seconds_of aws_get_file big.bin)")
    nginx_get_s+=("$(seconds_of nginx_get ngx/big.bin)")
  else
    ngx_put_s+=("$(seconds_of aws_nginx_put "$work/src/b.bin" up.bin)")
    put_s+=("$(seconds_of aws_put "$work/src/a.bin" big.bin)")
    up_s+=("$(seconds_of files_upload "$work/src/b.bin")")
    nginx_get_s+=("$(seconds_of nginx_get ngx/big.bin)")
    ngx_get_s+=("$(seconds_of aws_nginx_get big.bin)")
    file_s+=("$(seconds_of aws_get_file big.bin)")
    get_s+=("$(seconds_of aws_get big.bin)")
  fi
  if [ "$r" = 1 ]; then
    aws s3 cp --quiet "s3://$bucket/big.bin" - | cmp -s - "$work/src/a.bin" ||
      die "what aws s3 cp downloaded differs from what it uploaded"
  fi
  code=$(scurl -o /dev/null -w '%{http_code}' -X DELETE "$S3_URL/$bucket/big.bin")
  [ "$code" = 204 ] || die "DeleteObject big.bin: HTTP $code"
  ncurl "$NEXUS_URL/api/files" | "$PY" -c 'import json,sys; [print(f["id"]) for f in json.load(sys.stdin)]' |
    while read -r id; do ncurl -o /dev/null -X DELETE "$NEXUS_URL/api/files/$id"; done
  rm -f "$work/www/ngx/big.bin" "$work/www/ngx/up.bin" "$work/src/a.bin" "$work/src/b.bin"
  wait_chunks_removed 30
done

log "MB/s per round: aws s3 cp up [$(mbps_each "$BIG" "${put_s[@]}")] /api/files/upload [$(mbps_each "$BIG" "${up_s[@]}")]" \
  "aws s3 cp up to nginx [$(mbps_each "$BIG" "${ngx_put_s[@]}")]" \
  "aws s3 cp down [$(mbps_each "$BIG" "${get_s[@]}")] to a file [$(mbps_each "$BIG" "${file_s[@]}")] nginx GET [$(mbps_each "$BIG" "${nginx_get_s[@]}")]" \
  "aws s3 cp down from nginx [$(mbps_each "$BIG" "${ngx_get_s[@]}")]"
put=$(median_mbps "$BIG" "${put_s[@]}")
up=$(median_mbps "$BIG" "${up_s[@]}")
get=$(median_mbps "$BIG" "${get_s[@]}")
to_file=$(median_mbps "$BIG" "${file_s[@]}")
nginx_get=$(median_mbps "$BIG" "${nginx_get_s[@]}")
ngx_put=$(median_mbps "$BIG" "${ngx_put_s[@]}")
ngx_get=$(median_mbps "$BIG" "${ngx_get_s[@]}")

# ---- the bucket of KEYS keys ---------------------------------------------------

log "[$(elapsed) s] $KEYS keys: written locally, PUT into s3://$bucket/many/ (8 at once)"
"$PY" - "$work/www/many" "$KEYS" "$S3_URL/$bucket/many" >"$work/puts.curlrc" <<'PY'
import os, sys
root, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    name = f"k{i:05d}.txt"
    with open(os.path.join(root, name), "w") as f:
        f.write(f"{i}\n" * (1 + i % 10))
    print(f'upload-file = "{root}/{name}"\nurl = "{url}/{name}"\noutput = "/dev/null"')
PY
scurl --no-progress-meter --retry 5 --parallel --parallel-max 8 -w '%{http_code}\n' \
  -K "$work/puts.curlrc" >"$work/put_codes" || die "the small PUTs failed (curl)"
ok=$(grep -cx 200 "$work/put_codes" || true)
[ "$ok" = "$KEYS" ] || die "$ok of $KEYS PUTs answered 200: $(sort "$work/put_codes" | uniq -c | tr '\n' ' ')"

# One full listing, page by page: appends each page's ms to $1, checks the
# key count.
list_all() {
  local out=$1 token="" total=0 page=0 t code
  while :; do
    # Parameters in sorted order: curl 7.88 signs the query as written.
    local url="$S3_URL/$bucket?"
    [ -n "$token" ] && url+="continuation-token=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$token")&"
    url+="list-type=2&max-keys=$PAGE&prefix=many%2F"
    read -r code t < <(scurl -o "$work/page.xml" -w '%{http_code} %{time_total}\n' "$url")
    [ "$code" = 200 ] || die "ListObjectsV2 page $page: HTTP $code"
    awk -v s="$t" 'BEGIN { printf "%.3f\n", s * 1000 }' >>"$out"
    total=$((total + $(grep -o '<Key>' "$work/page.xml" | wc -l)))
    page=$((page + 1))
    token=$(grep -o '<NextContinuationToken>[^<]*' "$work/page.xml" | sed 's/<NextContinuationToken>//' || true)
    [ -z "$token" ] && break
  done
  [ "$total" = "$KEYS" ] || die "a listing found $total keys, not $KEYS"
}
nginx_list_ms() {
  local code t
  read -r code t < <(curl -s --noproxy '*' -o "$work/index.json" -w '%{http_code} %{time_total}\n' "$NGINX_URL/many/")
  [ "$code" = 200 ] || die "nginx autoindex: HTTP $code"
  awk -v s="$t" 'BEGIN { printf "%.3f\n", s * 1000 }'
}

list_all /dev/null
nginx_list_ms >/dev/null
log "[$(elapsed) s] $LISTS listings of $KEYS keys in pages of $PAGE, nginx autoindex alternating"
: >"$work/pages_ms"
: >"$work/nginx_ms"
: >"$work/full_ms"
for ((i = 1; i <= LISTS; i++)); do
  : >"$work/this_ms"
  if ((i % 2)); then
    list_all "$work/this_ms"
    nginx_list_ms >>"$work/nginx_ms"
  else
    nginx_list_ms >>"$work/nginx_ms"
    list_all "$work/this_ms"
  fi
  cat "$work/this_ms" >>"$work/pages_ms"
  awk '{ s += $1 } END { printf "%.3f\n", s }' "$work/this_ms" >>"$work/full_ms"
done
read -r page_p50 page_p99 < <(percentiles "$work/pages_ms")
read -r full_p50 full_p99 < <(percentiles "$work/full_ms")
read -r ngx_p50 ngx_p99 < <(percentiles "$work/nginx_ms")

log "scenario took $(elapsed) s"

big_label="$big_mib MiB, median of $RUNS"
bench_row_unit s3 subject "aws s3 cp upload $big_label" "$put" - - MB/s \
  "$(ratio "$put" "$up")x /api/files/upload (>= 1.0 wanted), $(ratio "$put" "$ngx_put")x awscli to nginx"
bench_row_unit s3 anchor "POST /api/files/upload $big_label" "$up" - - MB/s anchor
bench_row_unit s3 anchor "aws s3 cp upload to nginx, one PUT, $big_label" "$ngx_put" - - MB/s \
  "anchor: the client's ceiling"
bench_row_unit s3 subject "aws s3 cp download $big_label" "$get" - - MB/s \
  "$(ratio "$get" "$nginx_get")x nginx GET (>= 0.6 wanted), $(ratio "$get" "$ngx_get")x awscli from nginx"
bench_row_unit s3 anchor "aws s3 cp download from nginx $big_label" "$ngx_get" - - MB/s \
  "anchor: the client's ceiling"
bench_row_unit s3 subject "aws s3 cp download to a file $big_label" "$to_file" - - MB/s \
  "$(ratio "$to_file" "$nginx_get")x nginx GET"
bench_row_unit s3 anchor "nginx GET $big_label" "$nginx_get" - - MB/s anchor
bench_row_unit s3 subject "ListObjectsV2 page of $PAGE, $KEYS keys" "$page_p50" "$page_p50" "$page_p99" ms \
  "target < 20 ms a page"
bench_row_unit s3 subject "ListObjectsV2 all $KEYS keys ($(((KEYS + PAGE - 1) / PAGE)) pages)" "$full_p50" "$full_p50" "$full_p99" ms \
  "$(ratio "$full_p50" "$ngx_p50")x nginx's time"
bench_row_unit s3 anchor "nginx autoindex json, $KEYS files" "$ngx_p50" "$ngx_p50" "$ngx_p99" ms anchor
