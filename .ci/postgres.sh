#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the shared engine's tests, on 127.0.0.1 only, with its own data directory and
# socket directory under /tmp (or $TOKENVAULT_PG_DIR). Nothing of the system's own clusters (if any) is touched.
#
#   .ci/postgres.sh start   installs postgresql when missing (apt-get), initialises and starts a cluster, creates
#                           database tokenvault_test owned by user tokenvault, and prints export lines for the tests
#   .ci/postgres.sh stop    stops the cluster started by `start` and removes its directory
#   .ci/postgres.sh env     prints the export lines again (cluster must be running)
#
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` account that the Debian package
# creates; as any other user, it runs as that user.
# Usage from CI:   pg_env="$(.ci/postgres.sh start)"; eval "$pg_env"   ...tests...   .ci/postgres.sh stop
# Only the export lines go to standard output; progress goes to standard error.
set -euo pipefail

DIR="${TOKENVAULT_PG_DIR:-/tmp/tokenvault-postgres}"
PORT="${TOKENVAULT_PG_PORT:-15432}"
# 32MB keeps CI small; a benchmark at 100,000 tokens wants its tables in shared buffers: TOKENVAULT_PG_SHARED_BUFFERS=1GB
SHARED_BUFFERS="${TOKENVAULT_PG_SHARED_BUFFERS:-32MB}"
DB=tokenvault_test
DB_USER=tokenvault
DB_PASSWORD="${TOKENVAULT_PG_PASSWORD:-tokenvault-test-pw}"

log() { echo "postgres.sh: $*" >&2; }

bin_dir() { # the newest installed server's bin directory
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$d" ] && [ -x "$d/postgres" ] && echo "$d"
}

install_if_missing() {
  if bin_dir >/dev/null; then return 0; fi
  log "installing postgresql (apt-get)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  # policy-rc.d keeps the package's own cluster from starting; this script runs its own.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created_policy=1
  fi
  $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
  [ "$created_policy" -eq 1 ] && $sudo rm -f "$policy"
  bin_dir >/dev/null || { log "postgresql installed but no server binary found under /usr/lib/postgresql"; exit 1; }
}

as_owner() { # runs a command as the account that owns the cluster
  if [ "$(id -u)" -eq 0 ]; then
    # from / : the caller's directory may be private to root (CI's clone is), and postgres would warn it cannot enter it
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

client() { # runs SQL as the cluster's superuser over the private socket
  as_owner "$(bin_dir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/run" -p "$PORT" -d postgres "$@"
}

print_env() {
  echo "export TOKENVAULT_TEST_PG_URL='jdbc:postgresql://127.0.0.1:$PORT/$DB'"
  echo "export TOKENVAULT_TEST_PG_USER='$DB_USER'"
  echo "export TOKENVAULT_TEST_PG_PASSWORD='$DB_PASSWORD'"
}

running() { [ -f "$DIR/data/postmaster.pid" ] && kill -0 "$(head -1 "$DIR/data/postmaster.pid")" 2>/dev/null; }

start() {
  if running; then
    log "already running (pid $(head -1 "$DIR/data/postmaster.pid"))"
    print_env
    return 0
  fi
  install_if_missing
  local bin
  bin="$(bin_dir)"
  rm -rf "$DIR"
  mkdir -p "$DIR/run"
  chmod 0700 "$DIR"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$DIR"
  log "initialising $DIR/data"
  as_owner "$bin/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 \
      --no-locale >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  log "starting $bin/postgres on 127.0.0.1:$PORT"
  as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR/run -c max_connections=200 -c shared_buffers=$SHARED_BUFFERS -c fsync=on" \
      >/dev/null || { log "server did not start; log:"; cat "$DIR/server.log" >&2 || true; exit 1; }
  client <<SQL
CREATE USER $DB_USER PASSWORD '$DB_PASSWORD';
CREATE DATABASE $DB OWNER $DB_USER ENCODING 'UTF8';
SQL
  log "ready: jdbc:postgresql://127.0.0.1:$PORT/$DB (user $DB_USER)"
  print_env
}

stop() {
  if running; then
    log "stopping"
    as_owner "$(bin_dir)/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null || true
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
