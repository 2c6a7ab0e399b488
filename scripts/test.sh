#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, start the real services, run it all.
# Used as-is by README ("Run the tests") and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SKINSAGE_VENV:-.venv}"
log() { printf '\n== %s\n' "$*"; }

log "system packages"
need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
[ -x /usr/bin/chromium ] || need+=(chromium)   # the widget's browser test (Playwright drives it)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

log "python environment ($VENV)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[test]"

log "neo4j"
scripts/neo4j-test-server.sh start
trap 'scripts/neo4j-test-server.sh stop >/dev/null 2>&1 || true; scripts/postgres-test-server.sh stop >/dev/null 2>&1 || true' EXIT

log "postgresql"
SKINSAGE_TEST_POSTGRES_URL="$(scripts/postgres-test-server.sh start)"
export SKINSAGE_TEST_POSTGRES_URL SKINSAGE_REQUIRE_POSTGRES=1

log "tests"
export SKINSAGE_REQUIRE_NEO4J=1 SKINSAGE_REQUIRE_BROWSER=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
"$VENV/bin/python" -m pytest "$@"
