#!/usr/bin/env bash
# Catch-up benchmark on real processes (loopback): a fresh network of N validators, optional load,
# one node SIGKILLed for DOWN seconds and restarted; prints how long it took to reach the tip it
# restarted behind, its catch-up rate and the chain's own block rate measured in the same run.
#
#   bench/catchup.sh [validators=4] [api_nodes=all] [down_s=30] [load_mbps=0] [victim=1]
#
# Uses target/release/cortado (cargo build --release -p cortado). Ports 27500+ / 27600+.
# Every process it starts stops by itself (--exit-after) even if the script is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-4}
API=${2:-$N}
DOWN=${3:-30}
MBPS=${4:-0}
VICTIM=${5:-1}
BIN=${CORTADO_BIN:-target/release/cortado}
DIR=$(mktemp -d /tmp/cortado-catchup-XXXX)
P2P=27500
HTTP=27600
LIFE=$((DOWN + 400))

"$BIN" genesis --validators "$N" --api-nodes "$API" --out "$DIR" --p2p-port $P2P --api-port $HTTP \
  --seed 11 >/dev/null
# WINDOW=<n>: [sync] retrieval_window of every node (default: the node files' 32).
if [ -n "${WINDOW:-}" ]; then
  for f in "$DIR"/node-*/node.toml; do sed -i "s/^retrieval_window = .*/retrieval_window = $WINDOW/" "$f"; done
fi
. bench/lib.sh
for i in $(seq 0 $((N - 1))); do start "$i"; done
until [ "$(height 0)" -ge 5 ]; do alive 0; sleep 0.2; done

if [ "$MBPS" != 0 ]; then
  urls=$(for i in $(seq 0 $((API - 1))); do if [ "$i" != "$VICTIM" ]; then printf 'http://127.0.0.1:%d,' $((HTTP + i)); fi; done)
  "$BIN" bench --url "${urls%,}" --mbps "$MBPS" --size 65536 --duration $((DOWN + 120)) --quiet \
    --out "$DIR/bench.json" >/dev/null 2>&1 &
  BENCH=$!
  sleep 3
fi

ref=0; [ "$VICTIM" = 0 ] && ref=$((N - 1))
kill -9 "${pids[$VICTIM]}"; wait "${pids[$VICTIM]}" 2>/dev/null || true
h0=$(height $ref); t0=$(date +%s.%N)
sleep "$DOWN"
h1=$(height $ref); t1=$(date +%s.%N)
start "$VICTIM"
tr=$(date +%s.%N)
# PERF=<file>: profile the restarted node while it catches up.
[ -n "${PERF:-}" ] && { perf record -F 499 -g -o "$PERF" -p "${pids[$VICTIM]}" -- sleep 8 >/dev/null 2>&1 & }
tip=$(height $ref)
hv=$(height "$VICTIM")
behind=$((tip - hv))
# The first block processed after the restart (process start, connections and the first fetch
# are behind it), then the tip.
while [ "$(height "$VICTIM")" -le "$hv" ]; do alive "$VICTIM"; sleep 0.02; done
tf=$(date +%s.%N); hf=$(height "$VICTIM")
while [ "$(height "$VICTIM")" -lt "$tip" ]; do alive "$VICTIM"; sleep 0.05; done
tc=$(date +%s.%N)
# The chain's rate while catching up, for the ratio.
h2=$(height $ref)
if [ -n "${KEEP:-}" ]; then
  for i in $(seq 0 $((N - 1))); do curl -sf "http://127.0.0.1:$((HTTP + i))/metrics" >"$DIR/metrics-$i.txt" || true; done
fi
python3 - "$N" "$API" "$DOWN" "$MBPS" "$h0" "$h1" "$t0" "$t1" "$tr" "$tc" "$tip" "$behind" "$h2" "$tf" "$hf" <<'EOF'
import sys
n, api, down, mbps = sys.argv[1:5]
h0, h1 = int(sys.argv[5]), int(sys.argv[6])
t0, t1, tr, tc = map(float, sys.argv[7:11])
tip, behind, h2 = int(sys.argv[11]), int(sys.argv[12]), int(sys.argv[13])
tf, hf = float(sys.argv[14]), int(sys.argv[15])
steady = (tip - hf) / max(tc - tf, 1e-3)
live = (h1 - h0) / (t1 - t0)
took = tc - tr
rate = behind / took
print(f"validators {n} (api {api}) load {mbps} MB/s: down {down} s, {behind} blocks behind at restart; "
      f"at the tip {took:.2f} s after restart (process start included): {rate:.0f} blocks/s vs chain "
      f"{live:.1f} blocks/s = {rate / live:.1f}x; first block processed {tf - tr:.2f} s after restart, "
      f"then {steady:.0f} blocks/s = {steady / live:.1f}x; chain meanwhile +{h2 - tip} blocks")
EOF
