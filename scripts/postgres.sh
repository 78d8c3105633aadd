#!/usr/bin/env bash
# A local PostgreSQL for Dagster's instance (runs, events, schedules, sensors, backfills).
#
#   scripts/postgres.sh install   install PostgreSQL from Debian's packages if it is missing
#   scripts/postgres.sh start     initialise the cluster once, then start it on 127.0.0.1 (idempotent)
#   scripts/postgres.sh stop      stop it
#   scripts/postgres.sh status    where it listens and whether it answers
#   scripts/postgres.sh env       print the connection variables (shell syntax; for `eval`/`source`)
#   scripts/postgres.sh destroy   stop it and delete its data directory and credentials
#
# The server runs as an unprivileged user: the caller, or Debian's `postgres` user when the
# caller is root (PostgreSQL refuses to run as root). Its data directory is
# ${WINNOW_PG_DIR:-$WINNOW_HOME/postgres}; as root the default is /var/lib/winnow-postgres/<port>,
# because Winnow's data directory is private to its owner (0700) and the `postgres` user must
# reach its own files. The server listens on 127.0.0.1 only (no unix socket outside its folder)
# and accepts password logins (scram-sha-256) for one user, `winnow`, whose generated password is
# kept with the connection settings in $WINNOW_HOME/postgres.env (mode 0600), which
# pipelines/dagster-postgres.yaml reads through the environment.
#
# Environment: WINNOW_HOME (default <repo>/.winnow), WINNOW_PG_PORT (default 5439),
# WINNOW_PG_DIR, WINNOW_PG_DB (default dagster).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
WINNOW_HOME="${WINNOW_HOME:-$REPO/.winnow}"
PORT="${WINNOW_PG_PORT:-5439}"
DB="${WINNOW_PG_DB:-dagster}"
PGUSER_NAME="winnow"
HOST="127.0.0.1"
CRED="$WINNOW_HOME/postgres.env"
if [ "$(id -u)" = 0 ]; then
  RUNAS="postgres"
  PGDIR="${WINNOW_PG_DIR:-/var/lib/winnow-postgres/$PORT}"
else
  RUNAS=""
  PGDIR="${WINNOW_PG_DIR:-$WINNOW_HOME/postgres}"
fi
DATA="$PGDIR/data"
LOG="$PGDIR/server.log"

log() { echo "postgres: $*" >&2; }
die() { echo "postgres: error: $*" >&2; exit 1; }

bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

as_server() {  # run a command as the server's user
  if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi
}

cmd_install() {
  if bindir >/dev/null; then return 0; fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "installing PostgreSQL from Debian's packages (no default cluster is created)"
  $sudo mkdir -p /etc/postgresql-common
  # the package would otherwise create and start a cluster of its own on port 5432
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  bindir >/dev/null || die "PostgreSQL installed but no initdb under /usr/lib/postgresql/*/bin"
}

answers() {
  "$(bindir)/pg_isready" -q -h "$HOST" -p "$PORT" 2>/dev/null
}

cmd_init() {
  [ -f "$DATA/PG_VERSION" ] && [ -f "$CRED" ] && return 0
  local bin; bin="$(bindir)"
  if answers; then
    die "a server already answers on $HOST:$PORT but $CRED is missing: stop it, or pick another WINNOW_PG_PORT"
  fi
  mkdir -p "$WINNOW_HOME" "$PGDIR"
  rm -rf "$DATA"
  local password; password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  local pwfile; pwfile="$PGDIR/.pw"
  (umask 077; printf '%s\n' "$password" >"$pwfile")
  if [ -n "$RUNAS" ]; then chown -R "$RUNAS": "$PGDIR"; fi
  chmod 0700 "$PGDIR"
  log "initialising a cluster in $DATA (as ${RUNAS:-$(id -un)})"
  as_server "$bin/initdb" -D "$DATA" -U "$PGUSER_NAME" --pwfile="$pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C >"$PGDIR/initdb.log" 2>&1 || { rm -f "$pwfile"; die "initdb failed: $(tail -5 "$PGDIR/initdb.log")"; }
  rm -f "$pwfile"
  (umask 077; cat >"$CRED" <<EOF
# Dagster's PostgreSQL (scripts/postgres.sh); read by pipelines/dagster-postgres.yaml
WINNOW_PG_HOST=$HOST
WINNOW_PG_PORT=$PORT
WINNOW_PG_USER=$PGUSER_NAME
WINNOW_PG_PASSWORD=$password
WINNOW_PG_DB=$DB
EOF
  )
  chmod 0600 "$CRED"
}

cmd_start() {
  cmd_install
  cmd_init
  local bin; bin="$(bindir)"
  if answers; then log "already answering on $HOST:$PORT"; else
    log "starting on $HOST:$PORT (data: $DATA)"
    as_server "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-c listen_addresses=$HOST -p $PORT -c unix_socket_directories=$PGDIR" start >/dev/null \
      || die "the server did not start: $(tail -5 "$LOG" 2>/dev/null)"
  fi
  # shellcheck disable=SC1090
  . "$CRED"
  export PGPASSWORD="$WINNOW_PG_PASSWORD"
  if ! "$bin/psql" -h "$HOST" -p "$PORT" -U "$PGUSER_NAME" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    "$bin/createdb" -h "$HOST" -p "$PORT" -U "$PGUSER_NAME" "$DB"
    log "created database $DB"
  fi
  log "ready: postgresql://$PGUSER_NAME@$HOST:$PORT/$DB (password in $CRED)"
}

cmd_stop() {
  local bin; bin="$(bindir || true)"
  if [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ]; then
    as_server "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  log "stopped"
}

cmd_status() {
  echo "address: $HOST:$PORT  database: $DB  user: $PGUSER_NAME"
  echo "data: $DATA"
  echo "credentials: $CRED"
  if bindir >/dev/null && answers; then echo "server: answering"; else echo "server: not answering"; fi
}

cmd_env() {
  [ -f "$CRED" ] || die "no credentials yet ($CRED): run scripts/postgres.sh start"
  sed -n 's/^\(WINNOW_PG_[A-Z]*=.*\)$/export \1/p' "$CRED"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  destroy) cmd_stop; rm -rf "$PGDIR"; rm -f "$CRED"; log "removed $PGDIR and $CRED" ;;
  *) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
