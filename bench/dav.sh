#!/usr/bin/env bash
# Scenario: WebDAV at /dav/, signed in the way mounts sign in (HTTP Basic with
# an app password), against the routes and servers that do the same job.
#
# - PUT of a 1 GiB random file (curl -T) against POST /api/fs/upload of a
#   file of the same size (curl -F), and against nginx storing it with its
#   own WebDAV PUT followed by an fsync of the stored file (`sync FILE`): the
#   PUT answers after its chunks are fsync'd and its row committed, so that
#   is the like-for-like durability.
# - GET of the stored file against nginx serving the same bytes (sendfile).
# - COPY of the 1 GiB file (Overwrite: T, onto the same target each time),
#   in ms: a copy lists the same chunks, so its time does not grow with size.
# - PROPFIND Depth: 1 of a folder of 10,000 small files, once naming the
#   properties clients ask for and once with allprop, in ms, against Apache
#   httpd's mod_dav serving a folder of the same files from its own config.
#
# The big-file figures are the median of DAV_RUNS rounds (default 3). Within
# a round the subject and its anchors run back to back and the order flips
# from one round to the next (as in cli.sh), so none always runs on a warmer
# or colder cache. Each round uses two fresh files (one for the WebDAV PUT,
# whose bytes nginx stores too, one for /api/fs/upload), so nexus never
# deduplicates one upload against another; every file is deleted after its
# round. PROPFIND figures are the median of DAV_PROPFINDS (10) requests of
# each kind after one warm-up, nexus and Apache alternating.
#
# Sizes can be made small to try the script: DAV_BIG_MIB (default 1024),
# DAV_ENTRIES (10000), DAV_RUNS (3), DAV_COPIES (COPYs per round, 5),
# DAV_PROPFINDS (10).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need openssl "apt-get install openssl"
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
[ -x "$APACHE_BIN" ] || die "$APACHE_BIN is not installed (apt-get install apache2)"

MiB=$((1 << 20))
BIG=$((${DAV_BIG_MIB:-1024} * MiB))
ENTRIES=${DAV_ENTRIES:-10000}
RUNS=${DAV_RUNS:-3}
COPIES=${DAV_COPIES:-5}
PROPFINDS=${DAV_PROPFINDS:-10}
# Eight at once, as a sync client does (nexus takes 16 from one user).
PUT_PARALLEL=8
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-dav-XXXXXX)
bench_cleanup_add "rm -rf '$work'"
# A round's two sources, nexus's chunks of both uploads, nginx's copy, headroom.
need_free_gib "$work" $((BIG * 5 / (1024 * MiB) + 1))
mkdir -p "$work/src" "$work/www" "$work/apache/many"

start_nexus
NEXUS_TOKEN=$(register_user)
export NEXUS_TOKEN
DAV_USER=$(ncurl "$NEXUS_URL/api/me" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["username"])') ||
  die "GET /api/me failed"
DAV_PASS=$(ncurl -H 'Content-Type: application/json' -d '{"name":"bench"}' "$NEXUS_URL/api/app-passwords" |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["password"])') || die "POST /api/app-passwords failed"
DAV="$NEXUS_URL/dav"
start_nginx_files "$work/www"

# The curl of a WebDAV client: Basic with the app password, never a proxy.
dcurl() { curl -s --noproxy '*' -u "$DAV_USER:$DAV_PASS" "$@"; }

# ---- Apache httpd with mod_dav (the PROPFIND anchor) ---------------------------

# Starts an Apache of its own (config, pid, logs and lock database in a temp
# dir; foreground; the fewest modules mod_dav_fs needs, plus mod_mime for
# getcontenttype) serving $1 with WebDAV on. Sets APACHE_URL.
start_apache_dav() {
  local root=$1 dir port user_lines="" m=$APACHE_MODULES
  dir=$(mktemp -d /tmp/nexus-bench-apache-XXXXXX)
  bench_cleanup_add "rm -rf '$dir'"
  mkdir -p "$dir/lock"
  port=$(free_port)
  # Apache refuses to serve as root: its workers run as nobody then, so they
  # need to read the served tree and write the lock database.
  if [ "$(id -u)" = 0 ]; then
    user_lines=$'User nobody\nGroup nogroup'
    chown nobody:nogroup "$dir/lock"
    chmod -R a+rX "$root"
    local d
    d=$(dirname "$root")
    while [ "$d" != / ]; do chmod a+x "$d"; d=$(dirname "$d"); done
  fi
  cat >"$dir/httpd.conf" <<CONF
ServerRoot $dir
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $dir/httpd.pid
DefaultRuntimeDir $dir
ErrorLog $dir/error.log
LogLevel warn
$user_lines
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule mime_module $m/mod_mime.so
LoadModule dav_module $m/mod_dav.so
LoadModule dav_fs_module $m/mod_dav_fs.so
TypesConfig /etc/mime.types
DAVLockDB $dir/lock/davlock
DocumentRoot $root
<Directory "$root">
  Dav On
  Require all granted
</Directory>
CONF
  "$APACHE_BIN" -f "$dir/httpd.conf" -DFOREGROUND >"$dir/stderr.log" 2>&1 &
  local pid=$! i
  bench_cleanup_add "stop_pid $pid"
  APACHE_URL="http://127.0.0.1:$port"
  for ((i = 0; i < 200; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' -X OPTIONS "$APACHE_URL/")" = 200 ] && break
    kill -0 "$pid" 2>/dev/null || i=200
    sleep 0.05
  done
  if ((i >= 200)); then
    cat "$dir/stderr.log" "$dir/error.log" >&2 2>/dev/null || true
    die "apache did not start"
  fi
  log "apache mod_dav (files under $root) up at $APACHE_URL"
}

# ---- timed steps: each prints seconds ------------------------------------------

dav_put() { # local file, remote name
  local code
  code=$(dcurl -o /dev/null -w '%{http_code}' -T "$1" "$DAV/$2")
  case $code in 201 | 204) ;; *) die "WebDAV PUT $2: HTTP $code" ;; esac
}
dav_put_timed() { seconds_of dav_put "$1" "$2"; }
fs_upload_timed() { seconds_of curl_upload "$1" "/$2"; }
nginx_put_sync() {
  local code
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -T "$1" "$NGINX_URL/$2")
  case $code in 201 | 204) ;; *) die "nginx PUT $2: HTTP $code" ;; esac
  sync "$work/www/$2"
}
nginx_put_sync_timed() { seconds_of nginx_put_sync "$1" "$2"; }
get_checked() { # what, url, expected size (curl args before the url come from $4...)
  local what=$1 url=$2 size=$3 out code n
  shift 3
  out=$(curl -s --noproxy '*' "$@" -o /dev/null -w '%{http_code} %{size_download}' "$url")
  read -r code n <<<"$out"
  if [ "$code" != 200 ] || [ "$n" != "$size" ]; then die "$what GET: HTTP $code, $n bytes of $size"; fi
}
dav_get_timed() { seconds_of get_checked WebDAV "$DAV/$1" "$BIG" -u "$DAV_USER:$DAV_PASS"; }
nginx_get_timed() { seconds_of get_checked nginx "$NGINX_URL/$1" "$BIG"; }

# COPY $1 onto $2 (Overwrite: T); prints the milliseconds curl took, then
# checks (untimed) that the copy has the source's size.
dav_copy_ms() {
  local out code t len
  out=$(dcurl -o /dev/null -w '%{http_code} %{time_total}' -X COPY \
    -H "Destination: $DAV/$2" -H 'Overwrite: T' "$DAV/$1")
  read -r code t <<<"$out"
  case $code in 201 | 204) ;; *) die "WebDAV COPY $1 -> $2: HTTP $code" ;; esac
  len=$(dcurl -I -o /dev/null -w '%header{content-length}' "$DAV/$2")
  [ "$len" = "$BIG" ] || die "the COPY of $1 is $len bytes, not $BIG"
  awk -v s="$t" 'BEGIN { printf "%.3f\n", s * 1000 }'
}

dav_delete() {
  local code
  code=$(dcurl -o /dev/null -w '%{http_code}' -X DELETE "$DAV/$1")
  case $code in 204 | 200) ;; *) die "WebDAV DELETE $1: HTTP $code" ;; esac
}


# ---- the 1 GiB rounds ----------------------------------------------------------

big_mib=$((BIG / MiB))
: >"$work/copy_ms"
declare -a put_s up_s nginx_put_s get_s nginx_get_s
for ((r = 1; r <= RUNS; r++)); do
  log "[$(elapsed) s] round $r of $RUNS: $big_mib MiB PUT, upload, nginx PUT+sync; GETs; $COPIES COPYs"
  random_file "$work/src/a.bin" "$BIG" "dav-a$r-$RANDOM"
  random_file "$work/src/b.bin" "$BIG" "dav-b$r-$RANDOM"
  # The WebDAV PUT runs between its two anchors; which anchor comes first flips.
  if ((r % 2)); then
    up_s+=("$(fs_upload_timed "$work/src/b.bin" upload.bin)")
    put_s+=("$(dav_put_timed "$work/src/a.bin" big.bin)")
    nginx_put_s+=("$(nginx_put_sync_timed "$work/src/a.bin" big.bin)")
    get_s+=("$(dav_get_timed big.bin)")
    nginx_get_s+=("$(nginx_get_timed big.bin)")
  else
    nginx_put_s+=("$(nginx_put_sync_timed "$work/src/a.bin" big.bin)")
    put_s+=("$(dav_put_timed "$work/src/a.bin" big.bin)")
    up_s+=("$(fs_upload_timed "$work/src/b.bin" upload.bin)")
    nginx_get_s+=("$(nginx_get_timed big.bin)")
    get_s+=("$(dav_get_timed big.bin)")
  fi
  if [ "$r" = 1 ]; then
    dcurl "$DAV/big.bin" | cmp -s - "$work/src/a.bin" || die "the WebDAV GET differs from what was PUT"
    dcurl -I -o /dev/null -w '%{http_code}' "$DAV/upload.bin" | grep -qx 200 ||
      die "the /api/fs/upload file is not visible over WebDAV"
  fi
  for ((c = 1; c <= COPIES; c++)); do dav_copy_ms big.bin big-copy.bin >>"$work/copy_ms"; done
  dav_delete big.bin
  dav_delete big-copy.bin
  remove_remote /upload.bin
  rm -f "$work/www/big.bin" "$work/src/a.bin" "$work/src/b.bin"
  # The next round starts once the deleted files' chunks are gone.
  wait_chunks_removed 30
done

log "MB/s per round: WebDAV PUT [$(mbps_each "$BIG" "${put_s[@]}")] /api/fs/upload [$(mbps_each "$BIG" "${up_s[@]}")]" \
  "nginx PUT+sync [$(mbps_each "$BIG" "${nginx_put_s[@]}")] WebDAV GET [$(mbps_each "$BIG" "${get_s[@]}")]" \
  "nginx GET [$(mbps_each "$BIG" "${nginx_get_s[@]}")]; COPY ms [$(tr '\n' ' ' <"$work/copy_ms" | sed 's/ $//')]"
put=$(median_mbps "$BIG" "${put_s[@]}")
up=$(median_mbps "$BIG" "${up_s[@]}")
nginx_put=$(median_mbps "$BIG" "${nginx_put_s[@]}")
get=$(median_mbps "$BIG" "${get_s[@]}")
nginx_get=$(median_mbps "$BIG" "${nginx_get_s[@]}")
read -r copy_p50 copy_p99 < <(percentiles "$work/copy_ms")

# ---- the folder of ENTRIES files -----------------------------------------------

log "[$(elapsed) s] $ENTRIES small files: written locally, PUT into /dav/many/ ($PUT_PARALLEL at once)"
# The same files for both servers: 2 to ~50 bytes, each of other bytes. One
# curl PUTs them all, in parallel, from a config file of upload/url pairs.
"$PY" - "$work/apache/many" "$ENTRIES" "$DAV/many" >"$work/puts.curlrc" <<'PY'
import os, sys
root, count, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    name = f"e{i:05d}.txt"
    with open(os.path.join(root, name), "w") as f:
        f.write(f"{i}\n" * (1 + i % 10))
    print(f'upload-file = "{root}/{name}"\nurl = "{url}/{name}"\noutput = "/dev/null"')
PY
code=$(dcurl -o /dev/null -w '%{http_code}' -X MKCOL "$DAV/many/")
[ "$code" = 201 ] || die "MKCOL /dav/many/: HTTP $code"
t0=$(now_s)
dcurl --no-progress-meter --retry 5 --parallel --parallel-max "$PUT_PARALLEL" -w '%{http_code}\n' -K "$work/puts.curlrc" >"$work/put_codes" ||
  die "the small-file PUTs failed (curl)"
log "$ENTRIES PUTs took $(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }') s"
created=$(grep -cx 201 "$work/put_codes" || true)
[ "$created" = "$ENTRIES" ] || die "$created of $ENTRIES small-file PUTs answered 201: $(sort "$work/put_codes" | uniq -c | tr '\n' ' ')"

start_apache_dav "$work/apache"

# The properties Finder, davfs2 and rclone ask for, and allprop.
cat >"$work/named.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>
XML
cat >"$work/allprop.xml" <<'XML'
<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>
XML

# PROPFIND Depth: 1 of $1 (a URL) with body file $2, answer to $3; prints
# "<status> <ms>". Extra curl args follow.
propfind() {
  local url=$1 body=$2 answer=$3 code t
  shift 3
  read -r code t < <(curl -s --noproxy '*' "$@" -X PROPFIND -H 'Depth: 1' \
    -H 'Content-Type: application/xml; charset=utf-8' --data-binary "@$body" \
    -o "$answer" -w '%{http_code} %{time_total}\n' "$url")
  awk -v c="$code" -v s="$t" 'BEGIN { printf "%s %.3f\n", c, s * 1000 }'
}
nexus_propfind() { propfind "$DAV/many/" "$1" "$2" -u "$DAV_USER:$DAV_PASS"; }
apache_propfind() { propfind "$APACHE_URL/many/" "$1" "$2"; }

# Warm-up, and the check (untimed): 207 with one <response> per entry plus
# the folder itself, whatever the namespace prefix.
for kind in named allprop; do
  for server in nexus apache; do
    read -r code _ < <("${server}_propfind" "$work/$kind.xml" "$work/answer.xml")
    [ "$code" = 207 ] || die "$server PROPFIND ($kind): HTTP $code"
    n=$(grep -o -E '<([A-Za-z0-9_.-]+:)?response[ >]' "$work/answer.xml" | wc -l)
    [ "$n" = $((ENTRIES + 1)) ] || die "$server PROPFIND ($kind): $n <response> elements, not $((ENTRIES + 1))"
  done
done
log "[$(elapsed) s] PROPFIND Depth: 1 of $ENTRIES entries, $PROPFINDS of each kind, nexus and apache alternating"
for f in pf_nexus_named pf_apache_named pf_nexus_allprop pf_apache_allprop; do : >"$work/$f"; done
timed_propfind() { # server kind
  local code ms
  read -r code ms < <("${1}_propfind" "$work/$2.xml" /dev/null)
  [ "$code" = 207 ] || die "$1 PROPFIND ($2): HTTP $code"
  echo "$ms" >>"$work/pf_$1_$2"
}
for ((i = 1; i <= PROPFINDS; i++)); do
  for kind in named allprop; do
    if ((i % 2)); then
      timed_propfind nexus "$kind"
      timed_propfind apache "$kind"
    else
      timed_propfind apache "$kind"
      timed_propfind nexus "$kind"
    fi
  done
done
read -r pf_named_p50 pf_named_p99 < <(percentiles "$work/pf_nexus_named")
read -r ap_named_p50 ap_named_p99 < <(percentiles "$work/pf_apache_named")
read -r pf_all_p50 pf_all_p99 < <(percentiles "$work/pf_nexus_allprop")
read -r ap_all_p50 ap_all_p99 < <(percentiles "$work/pf_apache_allprop")

log "scenario took $(elapsed) s"

big_label="$big_mib MiB, median of $RUNS"
bench_row_unit dav subject "WebDAV PUT $big_label" "$put" - - MB/s \
  "$(ratio "$put" "$up")x /api/fs/upload (>= 1.0 wanted)"
bench_row_unit dav anchor "POST /api/fs/upload $big_label" "$up" - - MB/s anchor
bench_row_unit dav subject "WebDAV PUT $big_label" "$put" - - MB/s \
  "$(ratio "$put" "$nginx_put")x nginx PUT+sync (>= 0.8 wanted)"
bench_row_unit dav anchor "nginx PUT + sync $big_label" "$nginx_put" - - MB/s anchor
bench_row_unit dav subject "WebDAV GET $big_label" "$get" - - MB/s \
  "$(ratio "$get" "$nginx_get")x nginx GET (>= 0.6 wanted)"
bench_row_unit dav anchor "nginx GET $big_label" "$nginx_get" - - MB/s anchor
bench_row_unit dav subject "WebDAV COPY $big_mib MiB, median of $((RUNS * COPIES))" "$copy_p50" \
  "$copy_p50" "$copy_p99" ms "target < 50 ms"
bench_row_unit dav subject "PROPFIND Depth 1, $ENTRIES entries, 5 props" "$pf_named_p50" "$pf_named_p50" "$pf_named_p99" ms \
  "$(ratio "$pf_named_p50" "$ap_named_p50")x Apache's time (target < 200 ms)"
bench_row_unit dav anchor "Apache mod_dav PROPFIND, 5 props" "$ap_named_p50" "$ap_named_p50" "$ap_named_p99" ms anchor
bench_row_unit dav subject "PROPFIND Depth 1, $ENTRIES entries, allprop" "$pf_all_p50" "$pf_all_p50" "$pf_all_p99" ms \
  "$(ratio "$pf_all_p50" "$ap_all_p50")x Apache's time (target < 200 ms)"
bench_row_unit dav anchor "Apache mod_dav PROPFIND, allprop" "$ap_all_p50" "$ap_all_p50" "$ap_all_p99" ms anchor
