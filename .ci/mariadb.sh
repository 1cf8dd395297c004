#!/usr/bin/env bash
# A throwaway MariaDB server for the CLI's JDBC import tests, on 127.0.0.1 only, with its own data directory and
# socket under /tmp (or $TOKENVAULT_MARIADB_DIR). Nothing of the system's own MariaDB (if any) is touched.
#
#   .ci/mariadb.sh start   installs mariadb-server when missing (apt-get), starts the server, creates database
#                          tokenvault_test and user tokenvault, and prints export lines for the test variables
#   .ci/mariadb.sh stop    stops the server started by `start` and removes its data directory
#   .ci/mariadb.sh env     prints the export lines again (server must be running)
#
# Usage from CI:   eval "$(.ci/mariadb.sh start)"   ...tests...   .ci/mariadb.sh stop
# Only the export lines go to standard output; progress goes to standard error.
set -euo pipefail

DIR="${TOKENVAULT_MARIADB_DIR:-/tmp/tokenvault-mariadb}"
PORT="${TOKENVAULT_MARIADB_PORT:-13306}"
DB=tokenvault_test
DB_USER=tokenvault
DB_PASSWORD="${TOKENVAULT_MARIADB_PASSWORD:-tokenvault-test-pw}"
# 32M keeps CI small; a benchmark at 100,000 tokens needs its tables in memory (the server reads with O_DIRECT, so a
# page missing from the pool is a disk read): TOKENVAULT_MARIADB_BUFFER_POOL=1G
BUFFER_POOL="${TOKENVAULT_MARIADB_BUFFER_POOL:-32M}"
SOCK="$DIR/mysqld.sock"
PIDFILE="$DIR/mysqld.pid"

log() { echo "mariadb.sh: $*" >&2; }

find_bin() { # first of the given names on PATH or in /usr/sbin, /usr/bin
  local n
  for n in "$@"; do
    if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
    for d in /usr/sbin /usr/bin /usr/local/bin /usr/local/sbin; do
      [ -x "$d/$n" ] && { echo "$d/$n"; return 0; }
    done
  done
  return 1
}

install_if_missing() {
  if find_bin mariadbd mysqld >/dev/null; then return 0; fi
  log "installing mariadb-server (apt-get)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  # policy-rc.d keeps the package's own service from starting; this script runs its own server.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client >&2
  [ "$created_policy" -eq 1 ] && $sudo rm -f "$policy"
  find_bin mariadbd mysqld >/dev/null || { log "mariadb-server installed but no mariadbd/mysqld found"; exit 1; }
}

client() { # runs SQL as root over the private socket
  "$(find_bin mariadb mysql)" --no-defaults --protocol=socket -S "$SOCK" -uroot "$@"
}

print_env() {
  echo "export TOKENVAULT_TEST_JDBC_URL='jdbc:mariadb://127.0.0.1:$PORT/$DB'"
  echo "export TOKENVAULT_TEST_JDBC_USER='$DB_USER'"
  echo "export TOKENVAULT_TEST_JDBC_PASSWORD='$DB_PASSWORD'"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then
    log "already running (pid $(cat "$PIDFILE"))"
    print_env
    return 0
  fi
  install_if_missing
  local mysqld install_db run_user
  mysqld="$(find_bin mariadbd mysqld)"
  install_db="$(find_bin mariadb-install-db mysql_install_db)"
  rm -rf "$DIR"
  mkdir -p "$DIR/data" "$DIR/tmp"
  run_user="$(id -un)"
  if [ "$(id -u)" -eq 0 ]; then
    # mysqld refuses to run as root without --user; run it as the mysql account when it exists.
    if id mysql >/dev/null 2>&1; then run_user=mysql; chown -R mysql:mysql "$DIR"; fi
  fi
  chmod 0700 "$DIR"
  [ "$run_user" = mysql ] && chown mysql:mysql "$DIR"
  log "initialising $DIR/data"
  "$install_db" --no-defaults --user="$run_user" --datadir="$DIR/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$DIR/install.log" 2>&1 || { cat "$DIR/install.log" >&2; exit 1; }
  log "starting $mysqld on 127.0.0.1:$PORT"
  "$mysqld" --no-defaults --user="$run_user" --datadir="$DIR/data" --tmpdir="$DIR/tmp" \
      --socket="$SOCK" --pid-file="$PIDFILE" --port="$PORT" --bind-address=127.0.0.1 \
      --skip-name-resolve --log-error="$DIR/error.log" \
      --innodb-buffer-pool-size="$BUFFER_POOL" --innodb-log-file-size=16M --performance-schema=OFF >/dev/null 2>&1 &
  local i
  for i in $(seq 1 60); do
    if client -e "select 1" >/dev/null 2>&1; then break; fi
    if [ "$i" -eq 60 ]; then log "server did not start; log:"; cat "$DIR/error.log" >&2 || true; exit 1; fi
    sleep 0.5
  done
  client <<SQL
CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON $DB.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON $DB.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
  log "ready: jdbc:mariadb://127.0.0.1:$PORT/$DB (user $DB_USER)"
  print_env
}

stop() {
  if running; then
    local pid
    pid="$(cat "$PIDFILE")"
    log "stopping pid $pid"
    kill "$pid"
    local i
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "still running after 30 s; killing"; kill -9 "$pid" || true; fi
  else
    log "not running"
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) running || { log "not running"; exit 1; }; print_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
