#!/usr/bin/env bash
# Sync benchmark on real processes (loopback): how long a new API node takes to sync a long chain
# whose old shares the validators have pruned, so that most blocks come whole from the other API
# nodes (block sync, p2p channel 7) and are checked against their certified headers.
#
#   bench/sync.sh [blocks=10000] [retention_views=500] [load_mbps=1] [size=65536]
#
# 4 validators, all API nodes, every node file with share_retention_views = RETENTION. Nodes 0-2
# build the chain under load (node 3, offline from genesis, is the f = 1 the chain tolerates)
# until height BLOCKS; then node 3 starts on an empty data directory and syncs from genesis while
# the load goes on. Prints the time to reach the tip it started behind, blocks/s and MB/s of
# payload against the chain's own rate in the same run, and how many blocks came whole.
#
# Uses target/release/cortado (cargo build --release -p cortado). Ports 27500+ / 27600+.
# Every process it starts stops by itself (--exit-after) even if the script is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-10000}
RETENTION=${2:-500}
MBPS=${3:-1}
SIZE=${4:-65536}
N=4
BIN=${CORTADO_BIN:-target/release/cortado}
DIR=$(mktemp -d /tmp/cortado-sync-XXXX)
P2P=27500
HTTP=27600
LIFE=7200

"$BIN" genesis --validators "$N" --out "$DIR" --p2p-port $P2P --api-port $HTTP --seed 13 >/dev/null
for f in "$DIR"/node-*/node.toml; do
  sed -i "0,/^worker_threads = /s/^worker_threads = \(.*\)$/worker_threads = \1\nshare_retention_views = $RETENTION/" "$f"
done
. bench/lib.sh
for i in 0 1 2; do start "$i"; done
until [ "$(height 0)" -ge 5 ]; do alive 0; sleep 0.2; done

urls="http://127.0.0.1:$HTTP,http://127.0.0.1:$((HTTP + 1)),http://127.0.0.1:$((HTTP + 2))"
"$BIN" bench --url "$urls" --mbps "$MBPS" --size "$SIZE" --duration $((LIFE - 60)) --quiet \
  --out "$DIR/bench.json" >/dev/null 2>&1 &
BENCH=$!
tb=$(date +%s.%N); hb=$(height 0)
while [ "$(height 0)" -lt "$BLOCKS" ]; do alive 0; sleep 1; done
h1=$(height 0); t1=$(date +%s.%N)
bytes1=$(metric 0 'p2p_received_bytes_total{channel="mempool"')

start 3
tr=$(date +%s.%N)
tip=$(height 0)
while [ "$(height 3)" -lt "$tip" ]; do alive 3; sleep 0.1; done
tc=$(date +%s.%N)
h2=$(height 0)
synced=$(metric 3 'blocks_synced')
rejected=$(metric 3 'synced_blocks_rejected')
reconstructed=$(metric 3 'reconstructed')
sync_bytes=$(metric 3 'p2p_received_bytes_total{channel="block_sync"')
share_bytes=$(metric 3 'p2p_received_bytes_total{channel="shares"')
[ -n "${KEEP:-}" ] && for i in 0 1 2 3; do curl -sf "http://127.0.0.1:$((HTTP + i))/metrics" >"$DIR/metrics-$i.txt" || true; done
python3 - "$hb" "$tb" "$h1" "$t1" "$tr" "$tc" "$tip" "$h2" "$synced" "$rejected" "$reconstructed" "$sync_bytes" "$share_bytes" "$RETENTION" "$MBPS" "$SIZE" <<'EOF'
import sys
hb, tb, h1, t1, tr, tc = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
tip, h2 = int(sys.argv[7]), int(sys.argv[8])
synced, rejected, reconstructed = (int(float(x)) for x in sys.argv[9:12])
sync_bytes, share_bytes = float(sys.argv[12]), float(sys.argv[13])
retention, mbps, size = sys.argv[14:17]
live = (h1 - hb) / (t1 - tb)
took = tc - tr
rate = tip / took
mb = (sync_bytes + share_bytes) / 1e6
print(f"4 validators, retention {retention} views, load {mbps} MB/s of {size} B: chain of {tip} blocks built at "
      f"{live:.1f} blocks/s; a new API node synced it in {took:.1f} s (process start included): "
      f"{rate:.0f} blocks/s = {rate / live:.1f}x the chain, {mb / took:.1f} MB/s received "
      f"({sync_bytes / 1e6:.0f} MB whole blocks, {share_bytes / 1e6:.0f} MB shares); {synced} blocks synced whole, "
      f"{reconstructed} reconstructed from shares, {rejected} rejected; chain meanwhile +{h2 - tip} blocks")
EOF
