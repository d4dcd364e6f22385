#!/usr/bin/env bash
# Make a throw-away PostgreSQL cluster answer on 127.0.0.1 for the tests, and print its URL.
#
#   scripts/postgres.sh start   install PostgreSQL from Debian's packages when absent, create the
#                               cluster under $BATON_PG_DIR (default .baton/pg), start it, create
#                               the role and database; prints the URL on stdout
#   scripts/postgres.sh stop    stop the cluster
#   scripts/postgres.sh url     print the URL
#
# Idempotent: a cluster that already runs is reused. Everything but the URL goes to stderr.
set -euo pipefail

PORT="${BATON_PG_PORT:-54329}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${BATON_PG_DIR:-$ROOT/.baton/pg}"
ROLE=baton
DB=baton
URL="postgresql+asyncpg://${ROLE}@127.0.0.1:${PORT}/${DB}"

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

find_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

install_postgres() {
  if find_bindir >/dev/null; then return 0; fi
  log "PostgreSQL is not installed; installing it from Debian's packages"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to install PostgreSQL"; exit 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  find_bindir >/dev/null || { log "PostgreSQL installed, but initdb was not found"; exit 1; }
}

# PostgreSQL refuses to run as root: run its tools as the 'postgres' user when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

is_ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; }

start() {
  install_postgres
  BIN="$(find_bindir)"
  if is_ready; then
    log "reusing the server on 127.0.0.1:$PORT"
  else
    mkdir -p "$DIR"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$DIR"
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      log "creating a cluster in $DIR/data"
      as_owner "$BIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync >/dev/null
    fi
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
    log "started on 127.0.0.1:$PORT (log: $DIR/server.log)"
  fi
  local psql=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" != "1" ]; then
    "${psql[@]}" -c "CREATE ROLE $ROLE LOGIN CREATEDB" >/dev/null
  fi
  # DROP DATABASE ... WITH (FORCE) ends the sessions still on a test database, which may be another
  # role's (autovacuum's): without this grant the drop failed now and then.
  "${psql[@]}" -c "GRANT pg_signal_backend TO $ROLE" >/dev/null 2>&1
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$DB'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
  fi
  echo "$URL"
}

stop() {
  BIN="$(find_bindir)" || exit 0
  [ -f "$DIR/data/PG_VERSION" ] || exit 0
  as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  log "stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) log "usage: $0 start|stop|url"; exit 2 ;;
esac
