#!/usr/bin/env bash
# Scenario: chunks on S3, and the scale-out back-ends. Instance A keeps its
# chunks in a bucket of instance B ([storage] chunks = "s3://..." pointing at
# B's S3 listener, on the same host); instance C keeps its chunks in another
# bucket of B and its storage metadata in PostgreSQL (a throw-away cluster,
# tests/support/pg_cluster.sh, as the postgres user on a private socket);
# B runs on the embedded defaults (SQLite, chunks on the filesystem). Upload
# of a 1 GiB random file through POST /api/files/upload and its download, on
# A and C against B in the same run. A's and C's figures include B's work of
# storing each chunk object (B chunks and fsyncs it in turn), as a remote S3
# server's would include its own. Without root or postgresql, C is left out.
#
# Numbers are decimal MB/s, the median of S3C_RUNS rounds (default 3), the
# order of subject and anchor flipping from one round to the next; each round
# uses a fresh random file, deleted after it. S3C_MIB (default 1024) makes
# the file smaller to try the script.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"

MiB=$((1 << 20))
BIG=$((${S3C_MIB:-1024} * MiB))
RUNS=${S3C_RUNS:-3}
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-s3c-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
# The source, B's copy of it as chunk objects, B's own copy, headroom.
need_free_gib "$work" $((BIG * 4 / (1024 * MiB) + 1))

# ---- B: the store, chunks on fs ----
b_s3_port=$(free_port)
BENCH_NEXUS_ENV="NEXUS_S3_LISTEN=127.0.0.1:$b_s3_port ${BENCH_NEXUS_ENV:-}" start_nexus
B_URL=$NEXUS_URL
B_TOKEN=$(register_user)
read -r ACCESS SECRET < <(NEXUS_TOKEN=$B_TOKEN ncurl -X POST "$B_URL/api/s3-keys" |
  "$PY" -c 'import json,sys; k=json.load(sys.stdin); print(k["access_key"], k["secret_key"])') ||
  die "POST /api/s3-keys failed"
(umask 077 && printf '%s\n' "$SECRET" >"$work/s3.secret")

# Makes a bucket on B; prints its name.
new_bucket() {
  local name code
  name="chunks-$(openssl rand -hex 4)"
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "http://127.0.0.1:$b_s3_port/$name")
  [ "$code" = 200 ] || die "create bucket $name on B: HTTP $code"
  echo "$name"
}

# ---- A: chunks in B's bucket ----
bucket=$(new_bucket)
a_s3_port=$(free_port)
BENCH_NEXUS_ENV="NEXUS_S3_LISTEN=127.0.0.1:$a_s3_port \
NEXUS_STORAGE_CHUNKS=s3://$bucket?endpoint=http://127.0.0.1:$b_s3_port&region=us-east-1 \
NEXUS_STORAGE_S3_ACCESS_KEY=$ACCESS NEXUS_STORAGE_S3_SECRET_KEY_FILE=$work/s3.secret \
${BENCH_NEXUS_ENV:-}" start_nexus
A_URL=$NEXUS_URL
A_TOKEN=$(register_user)

# ---- C: metadata in PostgreSQL, chunks in another bucket of B ----
C_URL=""
if pg_out=$("$REPO_DIR/tests/support/pg_cluster.sh" start --name bench 2>"$work/pg.err"); then
  pg_dir=$(sed -n 1p <<<"$pg_out")
  pg_uri=$(sed -n 2p <<<"$pg_out")
  bench_cleanup_add "'$REPO_DIR/tests/support/pg_cluster.sh' stop '$pg_dir'"
  c_bucket=$(new_bucket)
  c_s3_port=$(free_port)
  BENCH_NEXUS_ENV="NEXUS_S3_LISTEN=127.0.0.1:$c_s3_port NEXUS_STORAGE_METADATA=$pg_uri \
NEXUS_STORAGE_CHUNKS=s3://$c_bucket?endpoint=http://127.0.0.1:$b_s3_port&region=us-east-1 \
NEXUS_STORAGE_S3_ACCESS_KEY=$ACCESS NEXUS_STORAGE_S3_SECRET_KEY_FILE=$work/s3.secret \
${BENCH_NEXUS_ENV:-}" start_nexus
  C_URL=$NEXUS_URL
  C_TOKEN=$(register_user)
else
  log "PostgreSQL + S3 left out: $(tail -n 1 "$work/pg.err")"
fi

# Uploads $2 to instance URL $1 as token $3; prints "<seconds> <file id>".
upload() {
  local url=$1 file=$2 token=$3 out code t resp size id
  resp=$(mktemp "$work/resp-XXXXXX")
  out=$(NEXUS_TOKEN=$token ncurl -o "$resp" -w '%{http_code} %{time_total}' \
    -F "file=@$file;filename=$(basename "$file")" "$url/api/files/upload") ||
    die "upload of $file to $url failed (curl)"
  read -r code t <<<"$out"
  [ "$code" = 200 ] || die "upload of $file to $url: HTTP $code $(head -c 300 "$resp")"
  read -r size id < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["size"], d["id"])' "$resp")
  rm -f "$resp"
  [ "$size" = "$BIG" ] || die "upload of $file to $url: size $size in the answer"
  echo "$t $id"
}

# Downloads file $2 from $1 as token $3, checks its SHA-256 is $4; prints seconds.
download() {
  local url=$1 id=$2 token=$3 want=$4 t sum
  t=$(NEXUS_TOKEN=$token ncurl -o "$work/down" -w '%{time_total}' "$url/api/files/$id/download") ||
    die "download of $id from $url failed (curl)"
  sum=$(openssl dgst -sha256 -r "$work/down" | cut -d' ' -f1)
  rm -f "$work/down"
  [ "$sum" = "$want" ] || die "download of $id from $url: wrong bytes"
  echo "$t"
}

delete() {
  local code
  code=$(NEXUS_TOKEN=$3 ncurl -o /dev/null -w '%{http_code}' -X DELETE "$1/api/files/$2")
  case $code in 200 | 204) ;; *) die "DELETE $1/api/files/$2: HTTP $code" ;; esac
}

# One round on instance URL $1 with token $2: appends to $work/up-$3 and
# $work/down-$3. The source's SHA-256 is $src_sum (hashed once per round).
round() {
  local url=$1 token=$2 tag=$3 f="$work/src.bin" sum=$src_sum out t id
  out=$(upload "$url" "$f" "$token")
  read -r t id <<<"$out"
  echo "$t" >>"$work/up-$tag"
  download "$url" "$id" "$token" "$sum" >>"$work/down-$tag"
  delete "$url" "$id" "$token"
}

: >"$work/up-s3" >"$work/down-s3" >"$work/up-fs" >"$work/down-fs" >"$work/up-pg" >"$work/down-pg"
for ((i = 1; i <= RUNS; i++)); do
  log "[$(elapsed) s] round $i of $RUNS: $((BIG / MiB)) MiB up and down, on S3, PostgreSQL + S3 and fs"
  random_file "$work/src.bin" "$BIG" "s3c-$i-$RANDOM"
  src_sum=$(openssl dgst -sha256 -r "$work/src.bin" | cut -d' ' -f1)
  if ((i % 2)); then
    round "$A_URL" "$A_TOKEN" s3
    [ -z "$C_URL" ] || round "$C_URL" "$C_TOKEN" pg
    round "$B_URL" "$B_TOKEN" fs
  else
    round "$B_URL" "$B_TOKEN" fs
    [ -z "$C_URL" ] || round "$C_URL" "$C_TOKEN" pg
    round "$A_URL" "$A_TOKEN" s3
  fi
  rm -f "$work/src.bin"
done

label="$((BIG / MiB)) MiB"
[ "$BIG" = $((1024 * MiB)) ] && label="1 GiB"
up_s3=$(median_mbps "$BIG" $(cat "$work/up-s3"))
up_fs=$(median_mbps "$BIG" $(cat "$work/up-fs"))
down_s3=$(median_mbps "$BIG" $(cat "$work/down-s3"))
down_fs=$(median_mbps "$BIG" $(cat "$work/down-fs"))
log "upload MB/s, chunks on S3: $(mbps_each "$BIG" $(cat "$work/up-s3")); on fs: $(mbps_each "$BIG" $(cat "$work/up-fs"))"
log "download MB/s, chunks on S3: $(mbps_each "$BIG" $(cat "$work/down-s3")); on fs: $(mbps_each "$BIG" $(cat "$work/down-fs"))"
log "[$(elapsed) s] done"

bench_row_unit s3chunks anchor "upload $label, chunks on fs" "$up_fs" - - MB/s
bench_row_unit s3chunks subject "upload $label, chunks on S3 (2nd Nexus)" "$up_s3" - - MB/s \
  "$(ratio "$up_s3" "$up_fs")x fs upload"
bench_row_unit s3chunks anchor "download $label, chunks on fs" "$down_fs" - - MB/s "anchor"
bench_row_unit s3chunks subject "download $label, chunks on S3 (2nd Nexus)" "$down_s3" - - MB/s \
  "$(ratio "$down_s3" "$down_fs")x fs download"
if [ -n "$C_URL" ]; then
  up_pg=$(median_mbps "$BIG" $(cat "$work/up-pg"))
  down_pg=$(median_mbps "$BIG" $(cat "$work/down-pg"))
  log "PostgreSQL + S3: upload MB/s $(mbps_each "$BIG" $(cat "$work/up-pg")); download MB/s $(mbps_each "$BIG" $(cat "$work/down-pg"))"
  bench_row_unit s3chunks subject "upload $label, PostgreSQL + S3" "$up_pg" - - MB/s \
    "$(ratio "$up_pg" "$up_fs")x fs upload"
  bench_row_unit s3chunks subject "download $label, PostgreSQL + S3" "$down_pg" - - MB/s \
    "$(ratio "$down_pg" "$down_fs")x fs download"
fi
