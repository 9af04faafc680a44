# Shared helpers of the benchmark scenarios (sourced, not run).
#
# A scenario starts what it measures in a temp dir, registers cleanup with
# bench_cleanup_add, reports rows with bench_row, and leaves nothing running.
# Everything listens on 127.0.0.1 on ports that were free a moment before.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO_DIR/$BUILD_DIR" ;; esac
PY=/usr/bin/python3

WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"
WRK_DURATION="${WRK_DURATION:-10s}"

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# Cleanup actions run in reverse order on any exit (normal, error, Ctrl-C).
_cleanup_actions=()
bench_cleanup_add() { _cleanup_actions+=("$1"); }
_bench_cleanup() {
  local i
  for ((i = ${#_cleanup_actions[@]} - 1; i >= 0; i--)); do eval "${_cleanup_actions[i]}" || true; done
  _cleanup_actions=()
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Stops a process: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Polls until `curl URL` answers 200, at most $2 seconds (default 10).
wait_http_200() {
  local url=$1 limit=${2:-10} i
  for ((i = 0; i < limit * 20; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' "$url")" = 200 ] && return 0
    sleep 0.05
  done
  return 1
}

# A report line for bench/run.sh: scenario, role (subject|anchor), label, rps, p50 ms, p99 ms.
bench_row() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }

# The same with a unit for the value (MB/s, MiB, ms, x, runs/s; "-" for an
# empty latency) and, optionally, the text of the "vs anchor" column when the
# plain ratio to the scenario's first anchor is not the comparison that
# matters: scenario, role, label, value, p50, p99, unit, [vs].
bench_row_unit() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}"; }

# Runs wrk with --latency and prints "<rps> <p50_ms> <p99_ms>". Extra args
# (e.g. -s script.lua) go before the URL. Fails when any response was not
# 2xx/3xx or sockets errored: a fast stream of errors is not a result.
run_wrk() {
  local url=$1; shift
  local out
  out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency "$@" "$url") ||
    die "wrk failed against $url"
  echo "$out" >&2
  if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then die "non-2xx responses from $url"; fi
  if grep -q 'Socket errors' <<<"$out"; then die "socket errors against $url"; fi
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    END {
      if (rps == "" || p50 == "" || p99 == "") exit 1
      printf "%.0f %.3f %.3f\n", rps, p50, p99
    }' <<<"$out" || die "could not parse wrk output"
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# CPU seconds used so far by a process and its children that are still running.
tree_cpu_seconds() {
  local total=0 p
  for p in "$1" $(ps --ppid "$1" -o pid=); do
    total=$(awk -v t="$total" -v c="$(cpu_seconds "$p")" 'BEGIN { print t + c }')
  done
  echo "$total"
}

# ---- Nexus -------------------------------------------------------------------

# Starts the three services on a fresh data dir with mail written to the
# outbox. Sets NEXUS_URL, NEXUS_DATA_DIR_BENCH and NEXUS_PIDS[name].
# BENCH_NEXUS_ENV: extra settings, "NEXUS_X=1 NEXUS_Y=2" (the caller's own
# NEXUS_* variables are not passed on).
declare -A NEXUS_PIDS
start_nexus() {
  local bin
  for bin in src/auth/nexus-auth src/daemon/nexusd src/gateway/nexus-api; do
    [ -x "$BUILD_DIR/$bin" ] || die "$BUILD_DIR/$bin is not built (make build)"
  done
  NEXUS_DATA_DIR_BENCH=$(mktemp -d /tmp/nexus-bench-XXXXXX)
  NEXUS_INSTANCE_BENCH="b$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  bench_cleanup_add "rm -rf '$NEXUS_DATA_DIR_BENCH'"
  local port
  port=$(free_port)
  NEXUS_URL="http://127.0.0.1:$port"
  local name
  for name in nexus-auth nexusd nexus-api; do
    spawn_nexus_service "$name" "$name" NEXUS_GATEWAY_LISTEN="127.0.0.1:$port"
    NEXUS_PIDS[$name]=$SPAWNED_PID
  done
  wait_http_200 "$NEXUS_URL/healthz" 10 || {
    tail -n 20 "$NEXUS_DATA_DIR_BENCH"/*.log >&2
    die "nexus did not become healthy"
  }
  log "nexus up at $NEXUS_URL (data in $NEXUS_DATA_DIR_BENCH)"
}

# Starts service $1 (nexus-auth, nexusd or nexus-api) of the instance
# start_nexus made, logging to $NEXUS_DATA_DIR_BENCH/$2.log, with settings
# "$3"... after BENCH_NEXUS_ENV (the caller's own NEXUS_* variables are not
# passed on). Sets SPAWNED_PID; the process is stopped at exit.
spawn_nexus_service() {
  local name=$1 log=$2 rel
  shift 2
  case $name in
    nexus-auth) rel=src/auth/nexus-auth ;;
    nexusd) rel=src/daemon/nexusd ;;
    nexus-api) rel=src/gateway/nexus-api ;;
    *) die "no service $name" ;;
  esac
  env $(env | grep -o '^NEXUS_[A-Z_]*' | sed 's/^/-u /') \
    NEXUS_DATA_DIR="$NEXUS_DATA_DIR_BENCH" \
    NEXUS_INSTANCE="$NEXUS_INSTANCE_BENCH" \
    NEXUS_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
    ${BENCH_NEXUS_ENV:-} \
    "$@" \
    "$BUILD_DIR/$rel" >"$NEXUS_DATA_DIR_BENCH/$log.log" 2>&1 &
  SPAWNED_PID=$!
  bench_cleanup_add "stop_pid $!"
}

# The 6-digit code of the newest outbox mail to $1 (waits up to 10 s).
outbox_code() {
  local email=$1 i f code
  for ((i = 0; i < 200; i++)); do
    f=$(grep -l -i "^To:.*$email" "$NEXUS_DATA_DIR_BENCH"/mail/outbox/*.eml 2>/dev/null |
      xargs -r ls -t | head -n 1)
    if [ -n "$f" ]; then
      code=$(tr -d '\r' <"$f" | grep -E -o '^[0-9]{6}$' | head -n 1)
      [ -n "$code" ] && { echo "$code"; return 0; }
    fi
    sleep 0.05
  done
  return 1
}

# Registers a fresh user and prints its token.
register_user() {
  local user="bench$(tr -dc 'a-z0-9' </dev/urandom | head -c 8)"
  local email="$user@example.com" code resp
  curl -sf --noproxy '*' "$NEXUS_URL/auth/register/init" -H 'Content-Type: application/json' \
    -d "{\"Username\":\"$user\",\"Password\":\"bench-password\",\"Email\":\"$email\"}" \
    >/dev/null || die "register init failed"
  code=$(outbox_code "$email") || die "no code in the outbox for $email"
  resp=$(curl -sf --noproxy '*' "$NEXUS_URL/auth/register/verify" \
    -H 'Content-Type: application/json' -d "{\"Email\":\"$email\",\"Code\":\"$code\"}") ||
    die "register verify failed"
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$resp"
}

# ---- nginx (the anchor) ----------------------------------------------------------

# Starts an nginx of its own (temp prefix, foreground, no system files) that
# answers 200 "ok" to everything. Sets NGINX_URL and NGINX_PID (the master).
start_nginx() {
  need nginx "apt-get install nginx-light"
  local dir port
  dir=$(mktemp -d /tmp/nexus-bench-nginx-XXXXXX)
  bench_cleanup_add "rm -rf '$dir'"
  port=$(free_port)
  cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "ok"; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stderr.log" 2>&1 &
  NGINX_PID=$!
  bench_cleanup_add "stop_pid $!"
  NGINX_URL="http://127.0.0.1:$port"
  wait_http_200 "$NGINX_URL/" 10 || { cat "$dir/stderr.log" "$dir/error.log" >&2; die "nginx did not start"; }
  log "nginx up at $NGINX_URL"
}

# ---- helpers of the storage and lambda scenarios ---------------------------------

# Seconds since the epoch with nanoseconds, for timing a few steps together.
now_s() { date +%s.%N; }

# Decimal MB/s of $1 bytes in $2 seconds.
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# MB/s of $1 bytes for each time (seconds) after it, space-separated.
mbps_each() {
  local bytes=$1 t out=()
  shift
  for t in "$@"; do out+=("$(mbps "$bytes" "$t")"); done
  echo "${out[*]}"
}
# MB/s of $1 bytes at the median of the times (seconds) after it.
median_mbps() {
  local bytes=$1
  shift
  mbps "$bytes" "$(printf '%s\n' "$@" | median)"
}
# Whole seconds since the scenario's start ($started, from now_s).
elapsed() { awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }'; }

# "a / b" to three significant digits.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'; }

# Fails unless the filesystem holding $1 has at least $2 GiB free.
need_free_gib() {
  local avail
  avail=$(df -P -k "$1" | awk 'NR == 2 { print int($4 / 1048576) }')
  [ "$avail" -ge "$2" ] || die "need $2 GiB free under $1, have $avail GiB"
}

# Writes $2 bytes of random data to $1 (AES-CTR keystream from openssl: fast,
# and incompressible like real data; a different $3 seed gives other bytes).
random_file() {
  local path=$1 size=$2 seed=${3:-$RANDOM$RANDOM}
  # openssl dies of SIGPIPE when head has enough: not a failure here.
  { openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$seed" </dev/zero 2>/dev/null || true; } |
    head -c "$size" >"$path"
  [ "$(stat -c %s "$path")" = "$size" ] || die "could not write $size random bytes to $path"
}

# The authorised curl of the scenarios: never a proxy, token from $NEXUS_TOKEN.
ncurl() { curl -s --noproxy '*' -H "Authorization: Bearer $NEXUS_TOKEN" "$@"; }

# Runs a command (its output dropped; its failure fatal) and prints the
# seconds it took.
seconds_of() {
  local t0 t1
  t0=$(now_s)
  "$@" >/dev/null || die "failed: $*"
  t1=$(now_s)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

# Deletes $1 from the user's tree (DELETE /api/fs/delete).
remove_remote() {
  local code
  code=$(ncurl -o /dev/null -w '%{http_code}' -X DELETE "$NEXUS_URL/api/fs/delete?path=$1")
  case $code in 200 | 204) ;; *) die "DELETE $1: HTTP $code" ;; esac
}

# Uploads local file $1 to path $2 as `curl -F` does (POST /api/fs/upload,
# the part named after the file).
curl_upload() {
  local code
  code=$(ncurl -o /dev/null -w '%{http_code}' -F "file=@$1;filename=$(basename "$1")" \
    "$NEXUS_URL/api/fs/upload?path=$2")
  [ "$code" = 200 ] || die "curl -F upload: HTTP $code"
}

# Waits (at most $1 seconds, default 30) until nexus's chunk store is empty:
# a big file's chunks beyond the first few hundred are removed in the
# background after its delete answers. Warns when some are left.
wait_chunks_removed() {
  local limit=${1:-30} i nchunks=0
  for ((i = 0; i < limit * 10; i++)); do
    read -r nchunks _ < <(dir_usage "$NEXUS_DATA_DIR_BENCH/chunks")
    [ "$nchunks" = 0 ] && return 0
    sleep 0.1
  done
  log "warning: $nchunks chunk files left $limit s after deleting every file"
}

# Regular files under $1 and their total size in bytes: "<files> <bytes>".
dir_usage() {
  find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'
}

# Starts an nginx of its own that serves (GET; a folder as a JSON listing)
# and accepts (WebDAV PUT, DELETE) files under $1, with its request-body temp
# files in $1/.tmp so a PUT is a rename on the same filesystem. Sets
# NGINX_URL and NGINX_PID.
start_nginx_files() {
  need nginx "apt-get install nginx-light"
  local root=$1 dir port user_line=""
  dir=$(mktemp -d /tmp/nexus-bench-nginx-XXXXXX)
  bench_cleanup_add "rm -rf '$dir'"
  mkdir -p "$root/.tmp"
  port=$(free_port)
  # Workers of a root master run as nobody by default; keep the files ours.
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
$user_line
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log $dir/access.log;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $root/.tmp;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    location = /ping { return 200 "ok"; }
    location / {
      root $root;
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 0;
      autoindex on;
      autoindex_format json;
    }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/stderr.log" 2>&1 &
  NGINX_PID=$!
  bench_cleanup_add "stop_pid $!"
  NGINX_URL="http://127.0.0.1:$port"
  wait_http_200 "$NGINX_URL/ping" 10 || { cat "$dir/stderr.log" "$dir/error.log" >&2; die "nginx did not start"; }
  log "nginx (files under $root) up at $NGINX_URL"
}

# Samples a process's resident set every 50 ms into $2 (the maximum so far,
# in KiB) until killed. Start it in the background; the caller kills it.
sample_peak_rss() {
  local pid=$1 out=$2 max=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$max" ] && { max=$v; echo "$max" >"$out"; }
    sleep 0.05
  done
}

# The median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The line of file $1 whose first field (a rate) is the median of the
# column, the rest of the line (its latencies) with it; the upper middle one
# of an even count.
median_row() { sort -n -k1,1 "$1" | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }'; }

# Median and 99th percentile (nearest rank) of the numbers in file $1, one a line: "<p50> <p99>".
percentiles() {
  sort -g "$1" | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.99 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
    printf "%.2f %.2f\n", m, v[r] }'
}
