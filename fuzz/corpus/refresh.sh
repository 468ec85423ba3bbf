#!/usr/bin/env bash
# Regenerates the fuzz seed corpus (this directory) after a format change: starts a fresh
# `cortado dev` on 127.0.0.1, submits transactions (three in namespace 42 and one in namespace 3
# in one block; then a bundle {1: "a", 2: "b"} and two more in namespace 42 in a later block),
# saves the API's answers to json/ (verifiable offline under genesis.toml, copied from that
# network), writes their hex `*bytes` fields to headers/ and proofs/, and rebuilds the
# hand-built binary seeds of transactions/ and wire/ with the current version bytes (read from
# types/src). json/submit-body.json, submit-float.json and bundle-body.json (request bodies) are
# left as they are. Nothing is written unless every answer was fetched.
#
#   fuzz/corpus/refresh.sh
#
# Environment: CORTADO (the binary; default: built here), API_PORT (38100), P2P_PORT (38000),
# EXIT_AFTER (the network's lifetime, s; 300), BLOCK_INTERVAL_MS (500: a batch submitted right
# after a block lands in one block; a batch that straddles two is submitted again).
# Afterwards: cargo test -p cortado-fuzz-checks
set -euo pipefail
cd "$(dirname "$0")/../.."

API_PORT="${API_PORT:-38100}"
P2P_PORT="${P2P_PORT:-38000}"
EXIT_AFTER="${EXIT_AFTER:-300}"
BLOCK_INTERVAL_MS="${BLOCK_INTERVAL_MS:-500}"

if [ -z "${CORTADO:-}" ]; then
  cargo build --locked -p cortado --bin cortado
  CORTADO="${CARGO_TARGET_DIR:-target}/debug/cortado"
fi

dir=$(mktemp -d)
log="$dir/dev.log"
"$CORTADO" dev --dir "$dir/net" --fresh --api-port "$API_PORT" --p2p-port "$P2P_PORT" \
  --exit-after "$EXIT_AFTER" --block-interval-ms "$BLOCK_INTERVAL_MS" >"$log" 2>&1 &
dev=$!

stop() {
  # SIGTERM: `cortado dev` stops its nodes; bounded, then SIGKILL to it and its own children.
  local nodes i
  nodes=$(pgrep -P "$dev" 2>/dev/null || true)
  kill "$dev" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$dev" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$dev" 2>/dev/null; then
    kill -9 "$dev" 2>/dev/null || true
    for i in $nodes; do kill -9 "$i" 2>/dev/null || true; done
  fi
  wait "$dev" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 143' TERM INT

status=0
python3 - "http://127.0.0.1:$API_PORT" "$dir" fuzz/corpus types/src <<'PY' || status=$?
import base64, hashlib, json, os, re, shutil, sys, time, urllib.error, urllib.request

base, tmp, corpus, types_src = sys.argv[1:5]


def const(path, name):
    text = open(os.path.join(types_src, path)).read()
    return int(re.search(rf"pub const {name}: u8 = (\d+);", text).group(1))


VERSION = const("lib.rs", "FORMAT_VERSION")
ENVELOPE_VERSION = const("message/mod.rs", "ENVELOPE_VERSION")


def request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def get(path):
    return json.loads(request("GET", path))


def height():
    return get("/v1/status").get("height") or 0  # null before the first block


def wait_until(what, seconds, check):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.1)
    sys.exit(f"timed out after {seconds} s waiting for {what}")


wait_until("cortado dev to finalize height 3", 120, lambda: height() >= 3)


def after_next_block():
    # Submitting right after a block makes a batch likely to land in the next one.
    h = height()
    wait_until("a new block", 30, lambda: height() > h)


def finalized(tx_hash):
    def check():
        answer = get(f"/v1/transactions/{tx_hash}")
        return answer if answer["status"] == "finalized" else None
    return wait_until(f"transaction {tx_hash} to finalize", 60, check)


def submit(namespace, payload):
    body = {"namespace": namespace, "payload": base64.b64encode(payload).decode()}
    return json.loads(request("POST", "/v1/transactions", body))["hash"]


def batch(name, txs, bundle=None, attempts=5):
    """Submits txs (and a bundle) until all land in one block; their answers and the bundle hash."""
    for attempt in range(attempts):
        # A retry changes the payloads (the same transaction again would be a duplicate).
        tag = b"" if attempt == 0 else b"-%d" % attempt
        after_next_block()
        bundle_hash = None
        if bundle is not None:
            members = [{"namespace": ns, "payload": base64.b64encode(p + tag).decode()}
                       for ns, p in bundle]
            bundle_hash = json.loads(request("POST", "/v1/bundles", {"transactions": members}))["hash"]
        hashes = [submit(ns, p + tag) for ns, p in txs]
        answers = [finalized(h) for h in hashes]
        heights = {a["height"] for a in answers}
        if bundle_hash is not None:
            def settled():
                answer = get(f"/v1/bundles/{bundle_hash}")
                return answer if answer["status"] != "pending" else None
            b = wait_until("the bundle to finalize", 60, settled)
            if b["status"] != "finalized":
                sys.exit(f"bundle {bundle_hash}: {b}")
            heights.add(b["height"])
        if len(heights) == 1:
            print(f"{name}: {len(txs)} transactions{' and a bundle' if bundle else ''} "
                  f"at height {heights.pop()}", file=sys.stderr)
            return answers, bundle_hash
        print(f"{name}: split over heights {sorted(heights)}; again", file=sys.stderr)
    sys.exit(f"{name}: no attempt landed in one block")


# Block A: namespace 42 holds three transactions (a compact proof with a real path), namespace
# 3 one (so that namespace 7 is absent between two neighbours).
a_txs, _ = batch("block A", [(42, b"hello"), (42, b""), (42, b"x" * 300), (3, b"abc")])
h_a = a_txs[0]["height"]
compact = next(t for t in a_txs if t["namespace"] == 42 and t["position"] == 1)
# Block B: a bundle and two transactions of namespace 42.
b_txs, bundle_hash = batch("block B", [(42, b"world"), (42, b"y" * 200)],
                           bundle=[(1, b"a"), (2, b"b")])
h_b = b_txs[0]["height"]
full = next(t for t in b_txs if t["position"] == 1)
leaf = max(1, h_a - 5)

answers = {
    "block.json": f"/v1/blocks/{h_a}",
    "bundle.json": f"/v1/bundles/{bundle_hash}",
    "header.json": f"/v1/headers/{h_a}",
    "history-proof.json": f"/v1/headers/{leaf}/proof?against={h_b}",
    "inbox.json": "/v1/namespaces/42/inbox",
    "namespace-absent.json": f"/v1/namespaces/7/blocks/{h_a}",
    "namespace-present.json": f"/v1/namespaces/42/blocks/{h_a}",
    "tx-finalized.json": f"/v1/transactions/{compact['hash']}",
    "tx-full.json": f"/v1/transactions/{full['hash']}?full=true",
}
stage = os.path.join(tmp, "corpus")
for sub in ["json", "headers", "proofs", "transactions", "wire"]:
    os.makedirs(os.path.join(stage, sub))
for name, path in answers.items():
    raw = request("GET", path)  # saved as served
    open(os.path.join(stage, "json", name), "wb").write(raw)
    print(f"json/{name} <- {path}", file=sys.stderr)

# The hex `*bytes` fields of the answers, in file and document order, each value once:
# headers and certificates (and the history proof) to headers/, other proofs to proofs/.
seen, n = set(), 0


def walk(stem, value, path):
    global n
    if isinstance(value, dict):
        for key, v in value.items():
            walk(stem, v, path + [key])
    elif isinstance(value, list):
        for v in value:
            walk(stem, v, path)
    elif isinstance(value, str) and path and path[-1].endswith("bytes"):
        data = bytes.fromhex(value)
        if data in seen:
            return
        seen.add(data)
        key = path[-1]
        headers = key != "bytes" or (stem == "history-proof" and path == ["proof", "bytes"])
        if stem == "tx-finalized" and path == ["transaction_proof", "bytes"]:
            name = "tx-compact-transaction_proof-bytes"
        else:
            n += 1
            name = f"{stem}-{key}-{n}"
        out = os.path.join(stage, "headers" if headers else "proofs", name)
        open(out, "wb").write(data)


for name in sorted(answers):
    walk(name[: -len(".json")], json.load(open(os.path.join(stage, "json", name))), [])

# Hand-built binary values (commonware-codec: integers big-endian, lengths LEB128 varints).
def varint(v):
    out = bytearray()
    while True:
        byte, v = v & 0x7F, v >> 7
        out.append(byte | (0x80 if v else 0))
        if not v:
            return bytes(out)


def u64(v):
    return v.to_bytes(8, "big")


def tx(namespace, payload):  # Transaction: version || namespace || varint len || payload
    return bytes([VERSION]) + u64(namespace) + varint(len(payload)) + payload


def sha(data):
    return hashlib.sha256(data).digest()


binary = {
    "transactions/tx-empty": tx(0, b""),
    "transactions/tx-small": tx(42, b"hello"),
    "transactions/tx-200": tx(2**64 - 2, b"\xab" * 200),
    # Bundle (carrier payload): version || varint count || transactions.
    "transactions/bundle-2": bytes([VERSION]) + varint(2) + tx(1, b"a") + tx(2, b"b"),
    # Marker: version || varint count || member hashes.
    "transactions/marker-2": bytes([VERSION]) + varint(2) + sha(b"a") + sha(b"b"),
    # Envelope: "CXM1" || envelope version || source || destination || sequence || sender (20)
    # || signature (65) || varint len || recipient || body.
    "transactions/envelope": b"CXM1" + bytes([ENVELOPE_VERSION]) + u64(10) + u64(20) + u64(0)
    + b"\x11" * 20 + b"\x22" * 65 + varint(20) + b"\x33" * 20 + b"body",
    # Gossip: tag (0 batch, 3 re-offer) || varint count || transactions.
    "wire/gossip-2": b"\x00" + varint(2) + tx(1, b"a") + tx(2, b"bb"),
    "wire/gossip-reoffer": b"\x03" + varint(1) + tx(5, b"c"),
    # Block sync tag 0 (request: height || hash); dispersal and sync tags carrying a hash.
    "wire/tag0-height-hash": b"\x00" + u64(7) + sha(b"a"),
    "wire/tag1-hash": b"\x01" + sha(b"a"),
    "wire/tag2-hash": b"\x02" + sha(b"a"),
    "wire/tag4-hash": b"\x04" + sha(b"a"),
}
for name, data in binary.items():
    open(os.path.join(stage, name), "wb").write(data)

# Everything fetched and built: replace the corpus (the request bodies in json/ stay).
for sub in ["headers", "proofs", "transactions", "wire"]:
    for old in os.listdir(os.path.join(corpus, sub)):
        os.remove(os.path.join(corpus, sub, old))
for sub in ["json", "headers", "proofs", "transactions", "wire"]:
    for name in sorted(os.listdir(os.path.join(stage, sub))):
        shutil.copyfile(os.path.join(stage, sub, name), os.path.join(corpus, sub, name))
        print(f"wrote {corpus}/{sub}/{name}", file=sys.stderr)
shutil.copyfile(os.path.join(tmp, "net", "genesis.toml"), os.path.join(corpus, "genesis.toml"))
print(f"wrote {corpus}/genesis.toml", file=sys.stderr)
PY

if [ "$status" -ne 0 ]; then
  echo "refresh failed; the last lines of the network's log:" >&2
  tail -20 "$log" >&2
  exit "$status"
fi
echo "corpus refreshed; now: cargo test -p cortado-fuzz-checks" >&2
