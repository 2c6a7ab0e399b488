#!/usr/bin/env bash
# A real PostgreSQL for SkinSage's tests / CI / benchmarks: Debian's packaged server, one cluster.
#
#   scripts/postgres-test-server.sh start    # install if missing, start, create role + db, print the URL
#   scripts/postgres-test-server.sh stop     # stop the cluster, but only if `start` started it
#   scripts/postgres-test-server.sh status   # exit 0 if it accepts connections
#   scripts/postgres-test-server.sh url      # print the URL only
#
# Env:
#   PG_TEST_DB / PG_TEST_USER / PG_TEST_PASSWORD   default skinsage_test for all three
#   PG_TEST_START_TIMEOUT                          seconds to wait for readiness (default 60)
#
# Prints: postgresql+psycopg://USER:PASSWORD@127.0.0.1:PORT/DB   (stdout; logs go to stderr)
# Needs root (or sudo) for apt-get and pg_ctlcluster, as on the CI machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.cache/postgres-test"
MARK="$STATE/started-by-us"
DB="${PG_TEST_DB:-skinsage_test}"
USER_="${PG_TEST_USER:-skinsage_test}"
PASS="${PG_TEST_PASSWORD:-skinsage_test}"
TIMEOUT="${PG_TEST_START_TIMEOUT:-60}"

log() { echo "postgres-test-server: $*" >&2; }
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
as_postgres() { $SUDO runuser -u postgres -- "$@"; }

install_if_missing() {
  if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || ! command -v pg_ctlcluster >/dev/null; then
    log "installing postgresql with apt-get..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
}

# The newest installed major version, and its first cluster (created if there is none).
version() { ls /usr/lib/postgresql | sort -n | tail -1; }
# The distribution's `main` cluster when there is one (others may be private to a benchmark).
cluster() { pg_lsclusters -h | awk -v v="$1" '$1 == v {print $2}' | sort | awk '$1 == "main" {m=1} NR == 1 {f=$1} END {print (m ? "main" : f)}'; }
port() { pg_lsclusters -h | awk -v v="$1" -v c="$2" '$1 == v && $2 == c {print $3; exit}'; }
online() { pg_lsclusters -h | awk -v v="$1" -v c="$2" '$1 == v && $2 == c {print $4; exit}' | grep -q online; }

url() {
  local v c
  v="$(version)"; c="$(cluster "$v")"
  echo "postgresql+psycopg://$USER_:$PASS@127.0.0.1:$(port "$v" "$c")/$DB"
}

cmd_start() {
  install_if_missing
  mkdir -p "$STATE"
  local v c
  v="$(version)"
  c="$(cluster "$v")"
  if [ -z "$c" ]; then
    log "creating cluster $v/main"
    $SUDO pg_createcluster "$v" main >/dev/null
    c=main
  fi
  if online "$v" "$c"; then
    log "cluster $v/$c already running on port $(port "$v" "$c")"
  else
    log "starting cluster $v/$c"
    $SUDO pg_ctlcluster "$v" "$c" start
    touch "$MARK"
  fi
  local p deadline=$((SECONDS + TIMEOUT))
  p="$(port "$v" "$c")"
  until pg_isready -q -h 127.0.0.1 -p "$p"; do
    ((SECONDS < deadline)) || { log "not ready after ${TIMEOUT}s"; exit 1; }
    sleep 0.5
  done
  # Role and database, idempotently; the password is (re)set so the printed URL always works.
  as_postgres psql -q -p "$p" -v ON_ERROR_STOP=1 -v user="$USER_" -v pass="$PASS" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user')
\gexec
ALTER ROLE :"user" WITH LOGIN PASSWORD :'pass';
SQL
  if ! as_postgres psql -p "$p" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_postgres createdb -p "$p" -O "$USER_" "$DB"
  fi
  log "ready: database $DB on 127.0.0.1:$p"
  url
}

cmd_stop() {
  if [ ! -f "$MARK" ]; then
    log "not stopping: this script did not start the running cluster"
    return 0
  fi
  local v c
  v="$(version)"; c="$(cluster "$v")"
  $SUDO pg_ctlcluster "$v" "$c" stop || true
  rm -f "$MARK"
  log "stopped cluster $v/$c"
}

cmd_status() {
  local v c
  v="$(version 2>/dev/null)" || { echo "not installed"; return 1; }
  c="$(cluster "$v")"
  if [ -n "$c" ] && online "$v" "$c" && pg_isready -q -h 127.0.0.1 -p "$(port "$v" "$c")"; then
    echo "running $v/$c $(url)"
    return 0
  fi
  echo "not running"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) url ;;
  *) echo "usage: $0 {start|stop|status|url}" >&2; exit 2 ;;
esac
