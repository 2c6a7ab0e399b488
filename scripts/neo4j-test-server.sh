#!/usr/bin/env bash
# Real Neo4j Community 5.26 for SkinSage's tests / CI, without Docker or a tarball:
# neo4j-harness (in-process) from Maven Central, run by a tiny Java launcher.
#
#   scripts/neo4j-test-server.sh start    # build if needed, start, wait for Bolt (exit 0 if already up)
#   scripts/neo4j-test-server.sh stop     # SIGTERM, wait, SIGKILL after a grace period
#   scripts/neo4j-test-server.sh status   # exit 0 if running and answering, 1 otherwise
#   scripts/neo4j-test-server.sh build    # only resolve deps + compile the launcher
#
# Env:
#   NEO4J_TEST_PORT           Bolt port (default 7687); server binds 127.0.0.1 only, auth disabled
#   NEO4J_TEST_START_TIMEOUT  seconds to wait for readiness (default 180)
#   NEO4J_TEST_HEAP           JVM -Xmx (default 1g)
#   NEO4J_TEST_APOC           1 (default) loads APOC core from target/plugins, 0 skips it
#
# Outputs: tools/neo4j-harness/target/{lib,plugins,classes}  (build cache)
#          .cache/neo4j-test/{neo4j-PORT.log,neo4j-PORT.pid,data-PORT/}
# Prerequisites: JDK 17+ (java, javac) and Maven 3 on PATH; Maven Central reachable on first build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="$ROOT/tools/neo4j-harness"
TARGET="$HARNESS/target"
LIB="$TARGET/lib"
PLUGINS="$TARGET/plugins"
CLASSES="$TARGET/classes"
SRC="$HARNESS/src/main/java/skinsage/Neo4jTestServer.java"
STAMP="$TARGET/.deps.stamp"

PORT="${NEO4J_TEST_PORT:-7687}"
HOST=127.0.0.1
TIMEOUT="${NEO4J_TEST_START_TIMEOUT:-180}"
HEAP="${NEO4J_TEST_HEAP:-1g}"
APOC="${NEO4J_TEST_APOC:-1}"

STATE="$ROOT/.cache/neo4j-test"
LOG="$STATE/neo4j-$PORT.log"
PIDFILE="$STATE/neo4j-$PORT.pid"
DATA="$STATE/data-$PORT"

log() { echo "neo4j-test-server: $*" >&2; }

# --- build ------------------------------------------------------------------

build() {
  command -v java >/dev/null || { log "java not found (need JDK 17+)"; exit 1; }
  command -v javac >/dev/null || { log "javac not found (need a JDK, not a JRE)"; exit 1; }

  # Dependencies: re-resolved only when pom.xml is newer than the stamp.
  if [[ ! -f "$STAMP" || "$HARNESS/pom.xml" -nt "$STAMP" || ! -d "$LIB" ]]; then
    command -v mvn >/dev/null || { log "mvn not found (need Maven 3)"; exit 1; }
    log "resolving Neo4j harness dependencies with Maven (first run downloads ~145 MB)..."
    rm -rf "$LIB" "$PLUGINS"
    (cd "$HARNESS" && mvn -B -q -Dstyle.color=never -f pom.xml \
        dependency:copy-dependencies@lib dependency:copy-dependencies@plugins) >&2
    touch "$STAMP"
  fi

  # Launcher: recompiled only when the source (or the dependency set) changed.
  local cls="$CLASSES/skinsage/Neo4jTestServer.class"
  if [[ ! -f "$cls" || "$SRC" -nt "$cls" || "$STAMP" -nt "$cls" ]]; then
    log "compiling launcher..."
    rm -rf "$CLASSES"
    mkdir -p "$CLASSES"
    javac --release 17 -nowarn -d "$CLASSES" -cp "$LIB/*" "$SRC"
  fi
}

# --- process helpers ----------------------------------------------------------

read_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# Our java process (not a recycled pid belonging to something else)?
pid_alive() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q 'skinsage.Neo4jTestServer' "/proc/$pid/cmdline" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# Running = live pid from our pid file + ready line logged + Bolt port accepting.
is_running() {
  local pid
  pid="$(read_pid)" || return 1
  pid_alive "$pid" || return 1
  grep -q '^NEO4J_READY ' "$LOG" 2>/dev/null || return 1
  port_open
}

# --- subcommands ---------------------------------------------------------------

cmd_start() {
  mkdir -p "$STATE"
  if is_running; then
    log "already running (pid $(read_pid)) at bolt://$HOST:$PORT"
    echo "bolt://$HOST:$PORT"
    return 0
  fi

  # Stale pid file, or a half-started process of ours: clean it up.
  local old
  if old="$(read_pid)" && pid_alive "$old"; then
    log "found unresponsive instance (pid $old), stopping it"
    cmd_stop
  fi
  rm -f "$PIDFILE"

  if port_open; then
    log "port $PORT on $HOST is already in use by another process (set NEO4J_TEST_PORT)"
    exit 1
  fi

  build

  local cp="$CLASSES:$LIB/*"
  local plugin_args=()
  if [[ "$APOC" == "1" ]] && compgen -G "$PLUGINS/*.jar" >/dev/null; then
    cp="$cp:$PLUGINS/*"
    plugin_args=(--plugins "$PLUGINS")
  fi

  # Fresh store every start (the harness also deletes its sub-dir on clean shutdown).
  rm -rf "$DATA"
  mkdir -p "$DATA"

  local t0=$SECONDS
  : >"$LOG"
  # setsid: own session/process group, so it outlives this shell and CI step wrappers
  # don't deliver their Ctrl-C to it. stdin from /dev/null (CI has none anyway).
  setsid java \
    -Xms256m -Xmx"$HEAP" \
    -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow \
    -Xss2m \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    --add-opens=java.base/java.io=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.lang=ALL-UNNAMED \
    --add-opens=java.base/java.util=ALL-UNNAMED \
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
    -Dio.netty.tryReflectionSetAccessible=true \
    -Djdk.attach.allowAttachSelf=true \
    -Dfile.encoding=UTF-8 \
    -cp "$cp" \
    skinsage.Neo4jTestServer \
    --host "$HOST" --port "$PORT" --data "$DATA" "${plugin_args[@]}" \
    </dev/null >>"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  log "started pid $pid, waiting up to ${TIMEOUT}s for bolt://$HOST:$PORT (log: $LOG)"

  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server process died during startup; last log lines:"
      tail -n 60 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if grep -q '^NEO4J_READY ' "$LOG" && port_open; then
      log "ready in $((SECONDS - t0))s (pid $pid)"
      echo "bolt://$HOST:$PORT"
      return 0
    fi
    sleep 0.5
  done

  log "not ready after ${TIMEOUT}s; last log lines:"
  tail -n 60 "$LOG" >&2 || true
  cmd_stop || true
  exit 1
}

cmd_stop() {
  local pid
  if ! pid="$(read_pid)"; then
    log "not running (no pid file)"
    return 0
  fi
  if ! pid_alive "$pid"; then
    log "not running (stale pid file)"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 120; i++)); do # 60 s for a clean shutdown
    pid_alive "$pid" || break
    sleep 0.5
  done
  if pid_alive "$pid"; then
    log "pid $pid ignored SIGTERM for 60s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      pid_alive "$pid" || break
      sleep 0.5
    done
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

cmd_status() {
  if is_running; then
    local pid rss
    pid="$(read_pid)"
    rss="$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null || echo '?')"
    echo "running pid=$pid bolt://$HOST:$PORT rss=$rss"
    return 0
  fi
  echo "not running"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  build) build ;;
  *)
    echo "usage: $0 {start|stop|status|build}" >&2
    exit 2
    ;;
esac
