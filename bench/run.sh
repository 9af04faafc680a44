#!/usr/bin/env bash
# Runs every scenario in bench/ (each *.sh beside this file) and prints one
# table: requests/s, p50 and p99 latency, and the ratio of each subject's
# requests/s to its scenario's anchor. Scenario logs go to stderr.
# Usage: BUILD_DIR=build bench/run.sh [scenario ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in "$here"/*.sh; do
    [ "$(basename "$f")" = run.sh ] || scenarios+=("$(basename "$f" .sh)")
  done
fi

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
failed=()
for s in "${scenarios[@]}"; do
  echo "bench: == $s ==" >&2
  if ! bash "$here/$s.sh" | grep '^ROW' >>"$rows"; then failed+=("$s"); fi
done

echo
echo "Nexus benchmarks — $(date +%F), $(nproc) cores, wrk -t${WRK_THREADS:-2} -c${WRK_CONNECTIONS:-64} -d${WRK_DURATION:-10s}"
echo
awk -F'\t' '
  { scen[NR] = $2; role[NR] = $3; label[NR] = $4; rps[NR] = $5; p50[NR] = $6; p99[NR] = $7
    if ($3 == "anchor") anchor[$2] = $5 }
  END {
    printf "| %-10s | %-26s | %12s | %9s | %9s | %-12s |\n", "scenario", "server", "requests/s", "p50 ms", "p99 ms", "vs anchor"
    printf "|%s|%s|%s|%s|%s|%s|\n", "------------", "----------------------------", "-------------:", "----------:", "----------:", "--------------"
    for (i = 1; i <= NR; i++) {
      ratio = (role[i] == "anchor") ? "anchor" : (anchor[scen[i]] > 0 ? sprintf("%.2fx", rps[i] / anchor[scen[i]]) : "-")
      printf "| %-10s | %-26s | %12s | %9.2f | %9.2f | %-12s |\n", scen[i], label[i], rps[i], p50[i], p99[i], ratio
    }
  }' "$rows"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
