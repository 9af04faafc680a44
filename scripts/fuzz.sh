#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# $FUZZ_SECONDS (default 60). Exits non-zero when a target crashes; the
# crashing input is left in <build dir>/fuzz-artifacts/<target>/.
#
#   FUZZ_SECONDS=600 scripts/fuzz.sh          # longer run
#   FUZZ_BUILD_DIR=/tmp/bf scripts/fuzz.sh    # another build dir
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${JOBS:-$(nproc)}"
targets=(multipart numbers)

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DNEXUS_FUZZ=ON -DNEXUS_BUILD_TESTS=OFF
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]/%/_fuzz}"

for t in "${targets[@]}"; do
  # New inputs go to the first (scratch) corpus dir; the seeds in the tree
  # are only read.
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
  echo "== fuzzing $t for ${seconds}s"
  "$build/tests/fuzz/${t}_fuzz" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    "$corpus" "$root/tests/fuzz/corpus/$t"
done
echo "== fuzzing finished without crashes"
