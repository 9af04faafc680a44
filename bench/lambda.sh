#!/usr/bin/env bash
# Scenario: the contract's hello-world lambda end to end (POST
# /api/lambda/run, token check, gRPC, sandbox, JSON answer) with the warm pool
# (default) and with every run starting cold (NEXUS_LAMBDA_POOL_SIZE=0, a
# second instance), beside what the same `print` costs bare: `python3 -c`,
# inside bubblewrap (when installed), and in a bare `runc run` of a bundle
# like a sandbox's (lib/lambda_load.py runc-bundle). Then runs per second
# with 4 concurrent clients against the pooled instance.
#
# Latency series: LAMBDA_RUNS (default 60) runs one at a time after 2
# warm-ups, LAMBDA_PAUSE_S (default 0.2) s apart for every subject alike, so a
# pool has time to refill between runs as it would between a person's clicks.
# Needs root and runc (nexusd starts sandboxes with runc).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
need curl "apt-get install curl"
need runc "apt-get install runc"
[ "$(id -u)" = 0 ] || die "lambda runs need root (nexusd starts runc containers)"

RUNS=${LAMBDA_RUNS:-60}
PAUSE=${LAMBDA_PAUSE_S:-0.2}
CLIENTS=${LAMBDA_CLIENTS:-4}
TPUT_S=${LAMBDA_THROUGHPUT_S:-15}
LOAD="$BENCH_DIR/lib/lambda_load.py"
started=$(now_s)

work=$(mktemp -d /tmp/nexus-bench-lambda-XXXXXX)
bench_cleanup_add "rm -rf '$work'"

# Prints "<p50> <p99>" of a series written to $work/$1.
series() { percentiles "$work/t_$1"; }

stop_nexus() {
  local name
  for name in nexus-api nexusd nexus-auth; do stop_pid "${NEXUS_PIDS[$name]}"; done
}

# ---- pooled (default settings) ----
start_nexus
NEXUS_TOKEN=$(register_user)
log "pooled: $RUNS runs"
"$PY" "$LOAD" http-latency "$NEXUS_URL" "$NEXUS_TOKEN" "$RUNS" "$PAUSE" >"$work/t_pooled"
log "pooled: $CLIENTS clients for $TPUT_S s"
read -r rps nruns rejected < <("$PY" "$LOAD" http-throughput "$NEXUS_URL" "$NEXUS_TOKEN" "$CLIENTS" "$TPUT_S")
[ -n "${rps:-}" ] || die "throughput run failed"
log "throughput: $nruns runs, $rejected attempts answered 429 and retried"
stop_nexus

# ---- cold (no pool) ----
BENCH_NEXUS_ENV=NEXUS_LAMBDA_POOL_SIZE=0 start_nexus
NEXUS_TOKEN=$(register_user)
log "cold: $RUNS runs"
"$PY" "$LOAD" http-latency "$NEXUS_URL" "$NEXUS_TOKEN" "$RUNS" "$PAUSE" >"$work/t_cold"
stop_nexus

# ---- bare anchors ----
log "bare python3 -c: $RUNS runs"
"$PY" "$LOAD" cmd-latency "$RUNS" "$PAUSE" -- /usr/bin/python3 -c "print('hello from nexus')" >"$work/t_python"

have_bwrap=0
if command -v bwrap >/dev/null 2>&1; then
  have_bwrap=1
  log "bwrap: $RUNS runs"
  bw=(bwrap --ro-bind /usr /usr --proc /proc --dev /dev --tmpfs /tmp --unshare-all
    --die-with-parent --new-session --uid 65534 --gid 65534)
  for l in bin sbin lib lib32 lib64 libx32; do
    [ -L "/$l" ] && bw+=(--symlink "$(readlink "/$l")" "/$l")
  done
  "$PY" "$LOAD" cmd-latency "$RUNS" "$PAUSE" -- "${bw[@]}" /usr/bin/python3 -c "print('hello from nexus')" >"$work/t_bwrap"
else
  log "bwrap not installed (apt-get install bubblewrap): no bwrap row"
fi

log "bare runc run: $RUNS runs"
"$PY" "$LOAD" runc-bundle "$work/bundle"
runc_bin=$(command -v runc)
bench_cleanup_add "for c in \$('$runc_bin' --root '$work/runc' list -q 2>/dev/null); do '$runc_bin' --root '$work/runc' delete -f \"\$c\"; done"
"$PY" "$LOAD" cmd-latency "$RUNS" "$PAUSE" -- "$runc_bin" --root "$work/runc" run -b "$work/bundle" "nxbench-{n}" >"$work/t_runc"

log "scenario took $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s"

read -r pooled50 pooled99 <<<"$(series pooled)"
read -r cold50 cold99 <<<"$(series cold)"
read -r py50 py99 <<<"$(series python)"
read -r runc50 runc99 <<<"$(series runc)"
bench_row_unit lambda subject "hello, warm pool (nexus-api)" "$pooled50" "$pooled50" "$pooled99" "ms p50" \
  "$(ratio "$pooled50" "$py50")x python3 -c"
bench_row_unit lambda subject "hello, cold: pool 0 (nexus-api)" "$cold50" "$cold50" "$cold99" "ms p50" \
  "$(awk -v a="$cold50" -v b="$runc50" 'BEGIN { printf "%+.1f ms vs runc run", a - b }')"
bench_row_unit lambda anchor "python3 -c (bare)" "$py50" "$py50" "$py99" "ms p50" anchor
if [ "$have_bwrap" = 1 ]; then
  read -r bw50 bw99 <<<"$(series bwrap)"
  bench_row_unit lambda anchor "bwrap python3 -c" "$bw50" "$bw50" "$bw99" "ms p50" anchor
fi
bench_row_unit lambda anchor "runc run python3 -c (bare)" "$runc50" "$runc50" "$runc99" "ms p50" anchor
bench_row_unit lambda subject "hello, $CLIENTS clients, warm pool" "$rps" - - runs/s "$rejected 429s retried"
