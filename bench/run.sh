#!/usr/bin/env bash
# Runs every scenario in bench/ (each *.sh beside this file) and prints one
# table: a value (requests/s unless the row names another unit), p50 and p99
# latency, and the ratio of each subject's value to its scenario's anchor (or
# the comparison text the row brings along). Scenario logs go to stderr.
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
echo "Nexus benchmarks — $(date +%F), $(nproc) cores, wrk -t${WRK_THREADS:-2} -c${WRK_CONNECTIONS:-64} -d${WRK_DURATION:-10s} (where wrk is used)"
echo
awk -F'\t' '
  # ROW fields: scenario, role, label, value, p50, p99, [unit], [vs] (see lib/common.sh).
  function num(v) { return (v ~ /^-?[0-9.]+$/) ? sprintf("%.2f", v) : (v == "" ? "-" : v) }
  { scen[NR] = $2; role[NR] = $3; label[NR] = $4; val[NR] = $5; p50[NR] = $6; p99[NR] = $7
    unit[NR] = ($8 == "") ? "req/s" : $8; vs[NR] = $9
    if ($3 == "anchor" && !($2 in anchor)) anchor[$2] = $5 }
  END {
    printf "| %-10s | %-40s | %10s | %-7s | %9s | %9s | %-30s |\n", "scenario", "subject", "value", "unit", "p50 ms", "p99 ms", "vs anchor"
    printf "|%s|%s|%s|%s|%s|%s|%s|\n", "------------", "------------------------------------------", "-----------:", "---------", "----------:", "----------:", "--------------------------------"
    for (i = 1; i <= NR; i++) {
      if (vs[i] != "") ratio = vs[i]
      else if (role[i] == "anchor") ratio = "anchor"
      else ratio = (anchor[scen[i]] > 0 ? sprintf("%.2fx", val[i] / anchor[scen[i]]) : "-")
      printf "| %-10s | %-40s | %10s | %-7s | %9s | %9s | %-30s |\n", scen[i], label[i], val[i], unit[i], num(p50[i]), num(p99[i]), ratio
    }
  }' "$rows"
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
