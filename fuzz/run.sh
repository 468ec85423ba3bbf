#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, starting from the checked-in corpus, and
# fails if any target finds a crash (a panic, an overflow, a non-canonical decoding).
#
#   fuzz/run.sh              # 60 s per target
#   fuzz/run.sh 30 wire json # 30 s for two targets
#
# New interesting inputs go to a scratch corpus, not the checked-in one; a crash is written to
# fuzz/libfuzzer/artifacts/<target>/ — copy it to fuzz/regressions/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(transactions headers proofs wire json)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
# cargo fuzz wants nightly: the nightly toolchain with AddressSanitizer if installed (blst's C
# code runs under it), else the stable compiler in bootstrap mode without a sanitizer (the Rust
# code forbids unsafe; the coverage instrumentation is the same).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
  opts=(--fuzz-dir libfuzzer --debug-assertions)
else
  echo "no nightly toolchain: fuzzing with the stable compiler (RUSTC_BOOTSTRAP=1, no sanitizer)"
  export RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
  opts=(--fuzz-dir libfuzzer --debug-assertions --sanitizer none)
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"${fuzz[@]}" build "${opts[@]}"
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  rm -rf "libfuzzer/artifacts/$t"
  echo "== $t: $secs s"
  "${fuzz[@]}" run "${opts[@]}" "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$scratch/$t.log" 2>&1 || true
  grep -E '^(#[0-9]+.*DONE|stat::(number_of_executed_units|peak_rss_mb|new_units_added))' "$scratch/$t.log" || true
  if [ -n "$(ls -A "libfuzzer/artifacts/$t" 2>/dev/null)" ] || ! grep -q 'DONE' "$scratch/$t.log"; then
    tail -40 "$scratch/$t.log"
    echo "target $t crashed or did not finish: see fuzz/libfuzzer/artifacts/$t/"; exit 1
  fi
done
