# Shared by the bench/ scripts (sourced): node processes on loopback that stop by themselves.
# Needs BIN, DIR, HTTP and LIFE set; sets `pids`, and BENCH may hold a load generator's pid.
# KEEP=1 keeps DIR (logs, metrics dumps) instead of removing it on exit.

pids=()
# start <i>: starts node i from its node file in DIR, appending to its log.
start() {
  "$BIN" node --config "$DIR/node-$1/node.toml" --exit-after "$LIFE" >>"$DIR/node-$1/node.log" 2>&1 &
  pids[$1]=$!
}
cleanup() {
  exec 2>/dev/null
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Reap them, so that their ports are free when the next run starts right after.
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${BENCH:-}" ] && kill "$BENCH" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $DIR" >&3 || rm -rf "$DIR"
}
exec 3>&1
trap cleanup EXIT
# alive <i>: fails, naming node i and its log, if its process has exited (so that a loop waiting
# on a node that died stops instead of spinning).
alive() {
  kill -0 "${pids[$1]}" 2>/dev/null && return 0
  echo "node $1 exited; see its log:" >&2
  tail -5 "$DIR/node-$1/node.log" >&2
  exit 1
}
# height <i>: node i's finalized height (0 while it does not answer).
height() { curl -sf "http://127.0.0.1:$((HTTP + $1))/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"] or 0)' 2>/dev/null || echo 0; }
# metric <i> <name>: the sum of node i's Prometheus samples whose name contains <name>.
metric() { curl -sf "http://127.0.0.1:$((HTTP + $1))/metrics" | awk -v m="$2" '$1 !~ /^#/ && index($1, m) > 0 { s += $2 } END { print s + 0 }'; }
