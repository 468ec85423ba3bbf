#!/usr/bin/env bash
# Heavy-readers benchmark on real processes (loopback): finality latency at 1 MB/s with and
# without 1,000 SSE subscribers and a stream of range queries, in one run on one network.
#
#   bench/readers.sh [readers=1000] [secs=30] [rounds=2] [mbps=1] [size=65536] [range readers=8]
#                    [range queries per second between them all; default: closed loops]
#
# 4 validators, all API nodes. Each round runs `cortado bench` twice back to back on the same
# network: without readers (the floor), then with READERS subscribers and 8 range readers spread
# over the 4 nodes (see cli/src/readers.rs), each for SECS seconds. Prints per run the client's
# submit -> final p50/p99, the ratio of each loaded run to the floor before it, what the readers
# received, and every node's peak resident memory (VmHWM) at the end.
#
# API_NICE (default: the node's default, 10) sets `[api] nice` in every node file, and
# READERS_NICE (default 10) the readers' `--readers-nice`: API_NICE=0 READERS_NICE=0 runs every
# thread at one priority, as before the API had a runtime of its own.
#
# Uses target/release/cortado (cargo build --release -p cortado). Ports 27700+ / 27800+.
# Every process it starts stops by itself (--exit-after) even if the script is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
READERS=${1:-1000}
SECS=${2:-30}
ROUNDS=${3:-2}
MBPS=${4:-1}
SIZE=${5:-65536}
RANGE=${6:-8}
RATE=${7:-}
N=4
BIN=${CORTADO_BIN:-target/release/cortado}
DIR=$(mktemp -d /tmp/cortado-readers-XXXX)
P2P=27700
HTTP=27800
LIFE=$(( (SECS + 60) * ROUNDS * 2 + 120 ))

"$BIN" genesis --validators "$N" --out "$DIR" --p2p-port $P2P --api-port $HTTP --seed 17 >/dev/null
. bench/lib.sh
if [ -n "${API_NICE:-}" ]; then
  for i in $(seq 0 $((N - 1))); do
    # `nice` appears once in a node file, in [api].
    sed -i "s/^nice = .*/nice = $API_NICE/" "$DIR/node-$i/node.toml"
    grep -q "^nice = $API_NICE\$" "$DIR/node-$i/node.toml" || { echo "no [api] nice in node $i's file"; exit 1; }
  done
fi
for i in $(seq 0 $((N - 1))); do start "$i"; done
until [ "$(height 0)" -ge 5 ]; do alive 0; sleep 0.2; done
urls=$(for i in $(seq 0 $((N - 1))); do printf 'http://127.0.0.1:%d,' $((HTTP + i)); done)
urls=${urls%,}

run() { # run <name> <readers> <range readers>
  "$BIN" bench --url "$urls" --mbps "$MBPS" --size "$SIZE" --duration "$SECS" \
    --finality-timeout 30 --readers "$2" --range-readers "$3" ${RATE:+--range-rate "$RATE"} \
    --readers-nice "${READERS_NICE:-10}" \
    --quiet --out "$DIR/$1.json" \
    >/dev/null 2>"$DIR/$1.err"
}
for r in $(seq 1 "$ROUNDS"); do
  run "floor-$r" 0 0
  run "readers-$r" "$READERS" "$RANGE"
done
for i in $(seq 0 $((N - 1))); do
  printf 'node %d peak RSS %s\n' "$i" "$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/${pids[$i]}/status")"
done
python3 - "$DIR" "$ROUNDS" <<'PY'
import json, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    r = json.load(open(f"{d}/{name}.json"))
    s = r["steps"][0]
    return r, s, s["latency_ms"]
def node_mean_ms(step):
    # Mean of the nodes' own finality latency (proposal timestamp -> indexed) over the step.
    nodes = [b for b in step["node_bytes"].values() if b]
    count = sum(b["finality_latency_count"] for b in nodes)
    return 1e3 * sum(b["finality_latency_sum_s"] for b in nodes) / count if count else float("nan")
for k in range(1, rounds + 1):
    _, fs, f = load(f"floor-{k}")
    r, ls, l = load(f"readers-{k}")
    rd = r["readers"]
    print(f"round {k}: floor p50 {f['p50']:.0f} p99 {f['p99']:.0f} ms ({fs['achieved_bytes_per_s']/1e6:.2f} MB/s, "
          f"{fs['finalized']}/{fs['submitted']} final) | readers p50 {l['p50']:.0f} p99 {l['p99']:.0f} ms "
          f"({ls['achieved_bytes_per_s']/1e6:.2f} MB/s, {ls['finalized']}/{ls['submitted']} final) | "
          f"ratio p50 {l['p50']/f['p50']:.2f} p99 {l['p99']/f['p99']:.2f}")
    fn, ln = node_mean_ms(fs), node_mean_ms(ls)
    print(f"  nodes' own finality latency (mean, proposal -> indexed): floor {fn:.1f} ms, readers {ln:.1f} ms, ratio {ln/fn:.2f}")
    print(f"  readers: {rd['subscribers']} subscribers, {rd['streams_opened']} streams opened, {rd['events']} events, "
          f"{rd['stream_bytes']/1e6:.1f} MB; {rd['range_queries']} range queries ({rd['range_bytes']/1e6:.1f} MB); "
          f"refused {rd['refused_by_status']}, errors {rd['errors']}")
PY
