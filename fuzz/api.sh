#!/usr/bin/env bash
# API fuzzing against the OpenAPI document: starts a fresh `cortado dev`, runs schemathesis
# (every check, coverage and fuzzing phases) against its /v1/openapi.json, and fails on any
# server error, response that violates the document, valid request refused or invalid one
# accepted. Bounded: the network exits by itself after EXIT_AFTER seconds.
#
#   fuzz/api.sh                    # 30 examples per operation, a random seed (printed)
#   EXAMPLES=200 SEED=123 fuzz/api.sh
#
# Environment: CORTADO (the binary; default: built here), EXAMPLES, SEED, API_PORT, P2P_PORT,
# EXIT_AFTER, ST_VENV (where schemathesis is installed; default ~/.cache/cortado-schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
EXAMPLES="${EXAMPLES:-30}"
API_PORT="${API_PORT:-37100}"
P2P_PORT="${P2P_PORT:-37000}"
EXIT_AFTER="${EXIT_AFTER:-1200}"
ST_VENV="${ST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cortado-schemathesis}"

if [ ! -x "$ST_VENV/bin/schemathesis" ] || ! "$ST_VENV/bin/schemathesis" --version | grep -q "$ST_VERSION"; then
  python3 -m venv "$ST_VENV"
  "$ST_VENV/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

if [ -z "${CORTADO:-}" ]; then
  cargo build --locked -q --bin cortado
  CORTADO="${CARGO_TARGET_DIR:-target}/debug/cortado"
fi

dir=$(mktemp -d)
log="$dir/dev.log"
"$CORTADO" dev --dir "$dir/net" --fresh --api-port "$API_PORT" --p2p-port "$P2P_PORT" \
  --exit-after "$EXIT_AFTER" >"$log" 2>&1 &
dev=$!
trap 'kill "$dev" 2>/dev/null; wait "$dev" 2>/dev/null; rm -rf "$dir"' EXIT

base="http://127.0.0.1:$API_PORT"
# Wait (bounded) until the node answers and has finalized a few blocks.
python3 - "$base" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
for _ in range(240):
    try:
        with urllib.request.urlopen(base + "/v1/status", timeout=2) as r:
            if json.load(r).get("height", 0) >= 3:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit("cortado dev did not start finalizing within 120 s")
PY

seed=()
[ -n "${SEED:-}" ] && seed=(--seed "$SEED")
# Streams never end: schemathesis reads each for at most --request-timeout seconds.
status=0
"$ST_VENV/bin/schemathesis" run "$base/v1/openapi.json" \
  --checks all --max-examples "$EXAMPLES" --request-timeout 2 --no-color "${seed[@]}" || status=$?
if ! kill -0 "$dev" 2>/dev/null; then
  echo "cortado dev stopped during the run:"; tail -20 "$log"; status=1
fi
exit "$status"
