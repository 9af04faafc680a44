#!/usr/bin/env bash
# Scenario: the contract's hello-world lambda end to end (POST
# /api/lambda/run, token check, gRPC, sandbox, JSON answer) with the warm pool
# (default) and with every run starting cold (NEXUS_LAMBDA_POOL_SIZE=0, a
# second instance), beside what the same `print` costs bare: `python3 -c`,
# inside bubblewrap (when installed), and in a bare `runc run` of a bundle
# like a sandbox's (lib/lambda_load.py runc-bundle), timed twice: with runc's
# teardown (plain `runc run`, which deletes the container before it exits)
# and without it (`runc run --keep`, the delete after the clock stops), since
# nexusd answers first and tears down after. The cold subject includes the
# whole API path (gateway, token check, gRPC), writing the bundle, runc's
# create and start with the sandbox's masked paths and limits, the init
# installing the seccomp profile (the anchors have neither), one interpreter,
# the snippet and reading the OOM verdict; not runc's wind-down nor the
# teardown, which follow the answer. Then runs per second with 4 concurrent clients against the
# pooled instance.
#
# Latency series: LAMBDA_RUNS (default 60) rounds after 2 warm-up rounds;
# each round runs every subject of its phase once, LAMBDA_PAUSE_S (default
# 0.2) s apart, so a pool has time to refill between runs as it would between
# a person's clicks, and a machine whose load changes over the minutes weighs
# on every subject of a phase alike. Phase 1 (pooled instance): pooled, bare
# python3 -c. Phase 2 (cold instance): cold, bare runc run, runc run --keep,
# bwrap. Needs root and runc (nexusd starts sandboxes with runc).
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

# JSON subjects for lambda_load.py rounds.
subject_http() { printf '{"name": "%s", "http": ["%s", "%s"]}' "$1" "$NEXUS_URL" "$NEXUS_TOKEN"; }
subject_cmd() { "$PY" -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "cmd": sys.argv[2:]}))' "$@"; }

runc_bin=$(command -v runc)
"$PY" "$LOAD" runc-bundle "$work/bundle"
bench_cleanup_add "for c in \$('$runc_bin' --root '$work/runc' list -q 2>/dev/null); do '$runc_bin' --root '$work/runc' delete -f \"\$c\"; done"
subjects_bare=(
  "$(subject_cmd runc "$runc_bin" --root "$work/runc" run -b "$work/bundle" "nxbench-{n}")"
  "$(printf '{"name": "runc_keep", "runc_keep": ["%s", "%s", "%s"]}' "$runc_bin" "$work/runc" "$work/bundle")"
)
have_bwrap=0
if command -v bwrap >/dev/null 2>&1; then
  have_bwrap=1
  bw=(bwrap --ro-bind /usr /usr --proc /proc --dev /dev --tmpfs /tmp --unshare-all
    --die-with-parent --new-session --uid 65534 --gid 65534)
  for l in bin sbin lib lib32 lib64 libx32; do
    [ -L "/$l" ] && bw+=(--symlink "$(readlink "/$l")" "/$l")
  done
  subjects_bare+=("$(subject_cmd bwrap "${bw[@]}" /usr/bin/python3 -c "print('hello from nexus')")")
else
  log "bwrap not installed (apt-get install bubblewrap): no bwrap row"
fi

# ---- pooled (default settings), interleaved with bare python3 -c ----
start_nexus
NEXUS_TOKEN=$(register_user)
log "pooled and python3 -c: $RUNS rounds"
"$PY" "$LOAD" rounds "$RUNS" "$PAUSE" "$work" "$(subject_http pooled)" \
  "$(subject_cmd python /usr/bin/python3 -c "print('hello from nexus')")"
log "pooled: $CLIENTS clients for $TPUT_S s"
read -r rps nruns rejected < <("$PY" "$LOAD" http-throughput "$NEXUS_URL" "$NEXUS_TOKEN" "$CLIENTS" "$TPUT_S")
[ -n "${rps:-}" ] || die "throughput run failed"
log "throughput: $nruns runs, $rejected attempts answered 429 and retried"
stop_nexus

# ---- cold (no pool), interleaved with bare runc run, runc run --keep, bwrap ----
BENCH_NEXUS_ENV=NEXUS_LAMBDA_POOL_SIZE=0 start_nexus
NEXUS_TOKEN=$(register_user)
log "cold, runc run, runc run --keep$([ "$have_bwrap" = 1 ] && echo ", bwrap"): $RUNS rounds"
"$PY" "$LOAD" rounds "$RUNS" "$PAUSE" "$work" "$(subject_http cold)" "${subjects_bare[@]}"
stop_nexus

log "scenario took $(awk -v a="$started" -v b="$(now_s)" 'BEGIN { printf "%.0f", b - a }') s"

read -r pooled50 pooled99 <<<"$(series pooled)"
read -r cold50 cold99 <<<"$(series cold)"
read -r py50 py99 <<<"$(series python)"
read -r runc50 runc99 <<<"$(series runc)"
read -r keep50 keep99 <<<"$(series runc_keep)"
bench_row_unit lambda subject "hello, warm pool (nexus-api)" "$pooled50" "$pooled50" "$pooled99" "ms p50" \
  "$(ratio "$pooled50" "$py50")x python3 -c"
bench_row_unit lambda subject "hello, cold: pool 0 (nexus-api)" "$cold50" "$cold50" "$cold99" "ms p50" \
  "$(awk -v a="$cold50" -v b="$runc50" -v c="$keep50" \
    'BEGIN { printf "%+.1f ms vs runc run, %+.1f vs --keep", a - b, a - c }')"
bench_row_unit lambda anchor "python3 -c (bare)" "$py50" "$py50" "$py99" "ms p50" anchor
if [ "$have_bwrap" = 1 ]; then
  read -r bw50 bw99 <<<"$(series bwrap)"
  bench_row_unit lambda anchor "bwrap python3 -c" "$bw50" "$bw50" "$bw99" "ms p50" anchor
fi
bench_row_unit lambda anchor "runc run python3 -c (bare)" "$runc50" "$runc50" "$runc99" "ms p50" anchor
bench_row_unit lambda anchor "runc run --keep, teardown untimed" "$keep50" "$keep50" "$keep99" "ms p50" anchor
bench_row_unit lambda subject "hello, $CLIENTS clients, warm pool" "$rps" - - runs/s "$rejected 429s retried"
