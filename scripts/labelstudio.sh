#!/usr/bin/env bash
# Install, start, stop and inspect the local Label Studio that annotators use.
#
#   scripts/labelstudio.sh install   create its own virtualenv with label-studio==1.23.2 (idempotent, ~4 min once)
#   scripts/labelstudio.sh start     start it on 127.0.0.1 (idempotent: a healthy server is left alone)
#   scripts/labelstudio.sh stop      stop the server this script started
#   scripts/labelstudio.sh status    URL, admin user, where the password is, and whether it answers
#   scripts/labelstudio.sh token     print the admin API token (for scripts; never logged)
#   scripts/labelstudio.sh add-annotator EMAIL   create an annotator account (password stored 0600)
#
# Label Studio pins Django 5.2, which clashes with our tree, so it lives in its own
# virtualenv: ${WINNOW_LS_VENV:-$HOME/.cache/winnow/labelstudio-venv} (shared by clones
# on the same machine). Its data (SQLite, media, log, credentials) lives in
# ${WINNOW_LS_DATA:-$WINNOW_HOME/labelstudio}. The admin password and the 40-hex API
# token are generated once and kept in credentials.env (mode 0600) there; Winnow's
# Label Studio resource reads that file, so the token never appears on a command line
# of ours, in a log or in Dagster metadata.
#
# Environment: WINNOW_HOME (default <repo>/.winnow), WINNOW_LS_PORT (default 8089),
# WINNOW_LS_VENV, WINNOW_LS_DATA, WINNOW_LS_START_TIMEOUT (seconds, default 300),
# PYTHON (a python3.11 to build the venv with).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
LS_VERSION="1.23.2"
WINNOW_HOME="${WINNOW_HOME:-$REPO/.winnow}"
LS_VENV="${WINNOW_LS_VENV:-$HOME/.cache/winnow/labelstudio-venv}"
LS_DATA="${WINNOW_LS_DATA:-$WINNOW_HOME/labelstudio}"
CRED="$LS_DATA/credentials.env"
PIDFILE="$LS_DATA/labelstudio.pid"
LOG="$LS_DATA/labelstudio.log"
HOST="127.0.0.1"
START_TIMEOUT="${WINNOW_LS_START_TIMEOUT:-300}"

log() { echo "labelstudio: $*" >&2; }
die() { echo "labelstudio: error: $*" >&2; exit 1; }

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1; then echo "$cand"; return; fi
  done
  die "no python3 found to build the Label Studio virtualenv (set PYTHON=...)"
}

installed() {
  [ -x "$LS_VENV/bin/label-studio" ] && [ -f "$LS_VENV/.winnow-ls-$LS_VERSION" ]
}

cmd_install() {
  if installed; then
    log "label-studio $LS_VERSION already installed in $LS_VENV"
    return 0
  fi
  mkdir -p "$(dirname "$LS_VENV")"
  # An exclusive lock so two concurrent installs (tests, demo) do not trample each other.
  exec 9>"$(dirname "$LS_VENV")/.labelstudio-install.lock"
  flock 9
  if installed; then log "label-studio $LS_VERSION already installed in $LS_VENV"; return 0; fi
  local py; py="$(pick_python)"
  log "installing label-studio==$LS_VERSION into $LS_VENV (about 4 minutes the first time)"
  [ -x "$LS_VENV/bin/python" ] || "$py" -m venv "$LS_VENV"
  "$LS_VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" >&2 || true
  # (filter pip's noise about unused local index locations)
  "$LS_VENV/bin/python" -m pip install -q "label-studio==$LS_VERSION" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
  # (`label-studio --version` boots Django and checks PyPI for a newer release: slow; import instead)
  [ "$("$LS_VENV/bin/python" -c 'import label_studio; print(label_studio.__version__)' 2>/dev/null)" = "$LS_VERSION" ] \
    || die "label-studio $LS_VERSION did not install correctly in $LS_VENV"
  touch "$LS_VENV/.winnow-ls-$LS_VERSION"
  log "installed label-studio $LS_VERSION"
}

# Create credentials.env once: port, admin user, random password and 40-hex token.
ensure_credentials() {
  mkdir -p "$LS_DATA"
  chmod 700 "$LS_DATA"
  if [ -f "$CRED" ]; then return 0; fi
  local port="${WINNOW_LS_PORT:-8089}"
  ( umask 077
    python3 - "$CRED" "$port" "$HOST" <<'PY'
import secrets, sys
path, port, host = sys.argv[1:4]
with open(path, "w") as fh:
    fh.write(f"WINNOW_LS_URL=http://{host}:{port}\n")
    fh.write(f"WINNOW_LS_PORT={port}\n")
    fh.write("WINNOW_LS_USERNAME=admin@winnow.local\n")
    fh.write(f"WINNOW_LS_PASSWORD={secrets.token_urlsafe(12)}\n")
    fh.write(f"WINNOW_LS_TOKEN={secrets.token_hex(20)}\n")
    fh.write(f"WINNOW_LS_SECRET_KEY={secrets.token_urlsafe(40)}\n")
PY
  )
  chmod 600 "$CRED"
}

cred() {  # cred KEY -> value from credentials.env
  sed -n "s/^$1=//p" "$CRED" | head -n1
}

healthy() {
  [ -f "$CRED" ] || return 1
  python3 - "$(cred WINNOW_LS_URL)" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=3) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  # alive and really Label Studio (a stale pid file may name a reused pid)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q label-studio \
    && echo "$pid"
}

cmd_start() {
  cmd_install
  ensure_credentials
  local url port; url="$(cred WINNOW_LS_URL)"; port="$(cred WINNOW_LS_PORT)"
  if running_pid >/dev/null && healthy; then
    log "already running at $url (pid $(cat "$PIDFILE"))"
    return 0
  fi
  if ! running_pid >/dev/null; then
    if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('$HOST', $port)) != 0)"; then
      die "port $port on $HOST is already used by another program; free it, or set WINNOW_LS_PORT and delete $CRED"
    fi
    log "starting Label Studio $LS_VERSION at $url (data: $LS_DATA, log: $LOG)"
    # Legacy token auth must be on before the first start: the organization is created then.
    (
      export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true
      export LABEL_STUDIO_BASE_DATA_DIR="$LS_DATA"
      export LABEL_STUDIO_COLLECT_ANALYTICS=false LABEL_STUDIO_LATEST_VERSION_CHECK=false
      export DJANGO_DB=sqlite
      export LABEL_STUDIO_USERNAME="$(cred WINNOW_LS_USERNAME)"
      export LABEL_STUDIO_PASSWORD="$(cred WINNOW_LS_PASSWORD)"
      export LABEL_STUDIO_USER_TOKEN="$(cred WINNOW_LS_TOKEN)"
      # A fixed Django secret keeps annotators' browser sessions valid across restarts.
      export SECRET_KEY="$(cred WINNOW_LS_SECRET_KEY)"
      # Credentials go through the environment (label-studio reads LABEL_STUDIO_USERNAME,
      # _PASSWORD, _USER_TOKEN), so they never show in `ps` or in the log.
      cd "$LS_DATA"
      setsid nohup "$LS_VENV/bin/label-studio" start --no-browser --internal-host "$HOST" \
        --port "$port" --enable-legacy-api-token >>"$LOG" 2>&1 </dev/null &
      echo $! >"$PIDFILE"
    )
  else
    log "process $(cat "$PIDFILE") is up; waiting for $url/health"
  fi
  local t0=$SECONDS
  while ! healthy; do
    if ! running_pid >/dev/null; then
      rm -f "$PIDFILE"
      die "Label Studio exited during start-up; see the end of $LOG:
$(tail -n 20 "$LOG" 2>/dev/null)"
    fi
    if [ $((SECONDS - t0)) -ge "$START_TIMEOUT" ]; then
      die "Label Studio did not answer $url/health within ${START_TIMEOUT}s; see $LOG"
    fi
    sleep 2
  done
  log "ready at $url after $((SECONDS - t0))s (user $(cred WINNOW_LS_USERNAME), password in $CRED)"
}

cmd_stop() {
  local pid
  if pid="$(running_pid)"; then
    log "stopping Label Studio (pid $pid)"
    # setsid made it a process-group leader: stop the group (label-studio and its workers).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$PIDFILE"
    log "stopped"
  else
    rm -f "$PIDFILE"
    log "not running"
  fi
}

cmd_status() {
  if [ ! -f "$CRED" ]; then
    echo "Label Studio: not set up yet (run scripts/labelstudio.sh start)"
    return 3
  fi
  local url; url="$(cred WINNOW_LS_URL)"
  if healthy; then
    echo "Label Studio: running at $url"
  else
    echo "Label Studio: NOT running (start it with scripts/labelstudio.sh start)"
  fi
  echo "  admin user: $(cred WINNOW_LS_USERNAME)"
  echo "  password:   in $CRED (WINNOW_LS_PASSWORD)"
  echo "  annotators: scripts/labelstudio.sh add-annotator EMAIL; passwords in $LS_DATA/annotators.env"
  echo "  data:       $LS_DATA   venv: $LS_VENV"
  healthy
}

cmd_token() {
  [ -f "$CRED" ] || die "no credentials yet: run scripts/labelstudio.sh start first"
  cred WINNOW_LS_TOKEN
}

cmd_add_annotator() {
  local email="${1:-}"
  [ -n "$email" ] || die "usage: scripts/labelstudio.sh add-annotator EMAIL"
  healthy || die "Label Studio is not running: start it with scripts/labelstudio.sh start"
  local py="$REPO/.venv/bin/python"
  [ -x "$py" ] || py="$LS_VENV/bin/python"
  (cd "$REPO" && WINNOW_LS_DATA="$LS_DATA" "$py" -m winnow.annotation.accounts "$email")
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  token) cmd_token ;;
  add-annotator) shift; cmd_add_annotator "$@" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
