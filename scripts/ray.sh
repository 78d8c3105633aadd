#!/usr/bin/env bash
# Start, stop and inspect a local Ray cluster: a head node and worker nodes on 127.0.0.1,
# each its own `ray start --block` process (own process group) with its own CPUs.
#
#   scripts/ray.sh start [WORKERS]   head + WORKERS worker nodes (default 1), WINNOW_RAY_CPUS each
#   scripts/ray.sh stop              stop every node this script started
#   scripts/ray.sh status            the address, and whether the head answers
#   scripts/ray.sh address           print the address (for execution.ray_address)
#   scripts/ray.sh kill-worker [N]   kill worker node N (default 1) at once, as a node failure
#   scripts/ray.sh add-worker        start one more worker node
#
# Ray comes with Winnow's own dependencies (.venv, `bash scripts/setup.sh` installs it).
# State lives in ${WINNOW_RAY_DIR:-$WINNOW_HOME/ray} (pid files, logs); Ray's own session
# files in /tmp/winnow-ray-<port> (a short path: Ray's unix sockets must fit 107 bytes).
#
# Environment: WINNOW_HOME (default <repo>/.winnow), WINNOW_RAY_PORT (GCS port, default 6390),
# WINNOW_RAY_DASHBOARD_PORT (default 8266), WINNOW_RAY_CPUS (per node, default 1),
# WINNOW_RAY_OBJECT_STORE_MB (per node, default 256).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
WINNOW_HOME="${WINNOW_HOME:-$REPO/.winnow}"
STATE="${WINNOW_RAY_DIR:-$WINNOW_HOME/ray}"
PORT="${WINNOW_RAY_PORT:-6390}"
DASH="${WINNOW_RAY_DASHBOARD_PORT:-8266}"
CPUS="${WINNOW_RAY_CPUS:-1}"
STORE_MB="${WINNOW_RAY_OBJECT_STORE_MB:-256}"
HOST="127.0.0.1"
TMP="/tmp/winnow-ray-$PORT"
RAY="$REPO/.venv/bin/ray"
# the nodes' workers import this checkout (winnow, and bench/tests functions given to tasks)
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
PY="$REPO/.venv/bin/python"

log() { echo "ray: $*" >&2; }
die() { echo "ray: error: $*" >&2; exit 1; }

ensure_installed() {
  if [ ! -x "$RAY" ]; then
    log "ray is not installed in .venv: running scripts/setup.sh"
    bash "$REPO/scripts/setup.sh" >&2
  fi
  [ -x "$RAY" ] || die "ray still missing from $REPO/.venv after setup"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

head_answers() {
  "$PY" - "$HOST:$PORT" <<'EOF' >/dev/null 2>&1
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
socket.create_connection((host, int(port)), timeout=2).close()
EOF
}

# nodes registered with the head (alive ones), from the GCS
node_count() {
  RAY_ADDRESS="$HOST:$PORT" "$PY" -c "
import ray
ray.init(address='$HOST:$PORT', logging_level='ERROR', log_to_driver=False)
print(sum(1 for n in ray.nodes() if n['Alive']))
" 2>/dev/null | tail -1
}

wait_nodes() {
  local want="$1" deadline=$((SECONDS + 120)) n=0
  while [ $SECONDS -lt $deadline ]; do
    n="$(node_count || echo 0)"
    [ "${n:-0}" -ge "$want" ] && return 0
    sleep 1
  done
  die "the cluster at $HOST:$PORT has ${n:-0} nodes after 120 s, $want expected (logs: $STATE/*.log)"
}

start_node() {  # name, ray start arguments...
  local name="$1"; shift
  # setsid: each node in its own process group, so one node can be killed alone
  setsid "$RAY" start --block --num-cpus="$CPUS" --node-ip-address="$HOST" \
    --object-store-memory=$((STORE_MB * 1024 * 1024)) --disable-usage-stats "$@" \
    >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
}

cmd_add_worker() {
  local i=1
  while [ -f "$STATE/worker-$i.pid" ]; do i=$((i + 1)); done
  start_node "worker-$i" --address="$HOST:$PORT"
  log "worker node $i starting ($CPUS CPU)"
}

cmd_start() {
  local workers="${1:-1}"
  ensure_installed
  mkdir -p "$STATE"
  if alive "$STATE/head.pid" && head_answers; then
    log "head already running at $HOST:$PORT"
  else
    rm -f "$STATE"/*.pid
    log "starting the head node on $HOST:$PORT ($CPUS CPU, dashboard on $DASH)"
    start_node head --head --port="$PORT" --temp-dir="$TMP" --include-dashboard=true \
      --dashboard-host="$HOST" --dashboard-port="$DASH"
    local deadline=$((SECONDS + 120))
    until head_answers; do
      alive "$STATE/head.pid" || die "the head node exited (log: $STATE/head.log): $(tail -5 "$STATE/head.log")"
      [ $SECONDS -lt $deadline ] || die "the head node did not answer on $HOST:$PORT within 120 s"
      sleep 1
    done
  fi
  local have; have=0
  for f in "$STATE"/worker-*.pid; do
    if alive "$f"; then have=$((have + 1)); fi
  done
  while [ "$have" -lt "$workers" ]; do cmd_add_worker; have=$((have + 1)); done
  wait_nodes $((workers + 1))
  log "cluster ready: $(node_count) nodes at $HOST:$PORT"
}

kill_group() {  # pid file
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

cmd_kill_worker() {
  local n="${1:-1}" f="$STATE/worker-${1:-1}.pid"
  [ -f "$f" ] || die "no worker node $n was started by this script ($f)"
  kill_group "$f"
  log "worker node $n killed"
}

cmd_stop() {
  local f
  for f in "$STATE"/worker-*.pid "$STATE"/head.pid; do
    [ -f "$f" ] || continue
    local pid; pid="$(cat "$f")"
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  sleep 2
  for f in "$STATE"/worker-*.pid "$STATE"/head.pid; do kill_group "$f"; done
  # processes Ray daemonised out of the groups (none expected), by their session folder
  pkill -9 -f "$TMP" 2>/dev/null || true
  log "stopped"
}

cmd_status() {
  echo "address: $HOST:$PORT"
  echo "dashboard: http://$HOST:$DASH"
  if head_answers; then echo "head: answering ($(node_count) nodes alive)"; else echo "head: not answering"; fi
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  address) echo "$HOST:$PORT" ;;
  kill-worker) shift; cmd_kill_worker "$@" ;;
  add-worker) ensure_installed; mkdir -p "$STATE"; cmd_add_worker ;;
  *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
