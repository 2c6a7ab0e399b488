"""`skinsage serve` as several processes: HTTP workers that acknowledge, answer workers that answer.

One Python process is GIL-bound: HTTP parsing, persisting webhooks and running the engine all share one
core. With `SKINSAGE_HTTP_WORKERS=N` uvicorn runs N app processes on one listening socket (the kernel
spreads connections over them), and `SKINSAGE_ANSWER_WORKERS=M` `skinsage worker` processes, started
and restarted by this one, claim what the webhooks stored (`StoreService.process_many`: claims are
atomic conditional UPDATEs, with `FOR UPDATE SKIP LOCKED` on PostgreSQL; a dead worker's claims lapse
after `SKINSAGE_PROCESSING_LEASE_S` and another takes them). With answer workers, the HTTP processes
only acknowledge (`SKINSAGE_CHANNEL_ANSWER_INLINE=false`) and run no background jobs; the workers run
the periodic jobs and drain the outbox.

Shared files are prepared once here, before any child starts: the store is migrated, the graph loaded
(the embedded graph allows one writer, so the children open it read-only: saving a verified customer's
profile from chat then needs `SKINSAGE_GRAPH_BACKEND=neo4j`) and the retrieval index brought up to date.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from skinsage.settings import Settings

log = logging.getLogger("skinsage.serve")
WORKER_COMMAND = [sys.executable, "-c", "from api.channels.topology import answer_worker_main; answer_worker_main()",
                  "worker"]


def answer_worker_count(settings: Settings) -> int:
    if settings.answer_workers is not None:
        return settings.answer_workers
    return 1 if settings.http_workers > 1 and settings.embedded_worker else 0


def is_multi_process(settings: Settings) -> bool:
    return settings.http_workers > 1 or answer_worker_count(settings) > 0


def child_env(settings: Settings) -> dict[str, str]:
    """What every child process is told on top of this process's environment."""
    env = {"SKINSAGE_LOAD_DEMO_ON_START": "false", "SKINSAGE_HTTP_WORKERS": "1", "SKINSAGE_ANSWER_WORKERS": "0"}
    if settings.graph_backend == "embedded":
        env["SKINSAGE_EMBEDDED_GRAPH_READ_ONLY"] = "true"
    if settings.widget_secret is None:
        # one secret for every HTTP process, or a widget session signed by one is refused by the next
        # (they still end when serve restarts, as with one process; set SKINSAGE_WIDGET_SECRET to keep them)
        env["SKINSAGE_WIDGET_SECRET"] = secrets.token_urlsafe(32)
    if answer_worker_count(settings) > 0:   # the workers answer, deliver and run the jobs
        env |= {"SKINSAGE_CHANNEL_ANSWER_INLINE": "false", "SKINSAGE_EMBEDDED_WORKER": "false"}
    elif settings.http_workers > 1 and settings.embedded_worker:
        # SKINSAGE_ANSWER_WORKERS=0 chosen with the embedded worker on: every HTTP process answers its own
        # webhooks and runs the jobs (claims keep both exactly-once), which costs each of them CPU
        log.warning("SKINSAGE_HTTP_WORKERS > 1 without answer workers: each HTTP process answers its own "
                    "webhooks and runs the background jobs")
    return env


def prepare_shared_state(settings: Settings) -> None:
    """Migrate, load the graph and sync the retrieval index once, before the children open them."""
    from opstore.migrate import upgrade
    from skinsage.bootstrap import build_graph, sync_retrieval_index

    upgrade(settings.store_url)
    with build_graph(settings) as graph:
        if settings.load_demo_on_start:
            from ingest.seed import load_seed

            report = load_seed(graph, settings)
            log.info("knowledge loaded: %s in %.1fs", report.rows, report.seconds)
        sync_retrieval_index(settings, graph)


def http_settings() -> Settings:
    """Settings as the environment says now. With one HTTP worker uvicorn calls the factory in the
    serving process itself, whose settings were read (and cached) before `child_env` was applied."""
    from skinsage.settings import get_settings

    get_settings.cache_clear()
    return get_settings()


def http_app() -> Any:
    """The uvicorn factory each HTTP worker process calls (settings from its environment)."""
    from api.app import create_app
    from skinsage.logging import configure_logging

    settings = http_settings()
    configure_logging(settings)
    return create_app(settings, background=settings.embedded_worker)


class AnswerWorkers:
    """Runs `count` worker processes and starts a new one when one dies (after a short pause that
    doubles while they keep dying, so a broken configuration does not spin)."""

    def __init__(self, count: int, env: dict[str, str], command: list[str] | None = None) -> None:
        self.count, self.env, self.command = count, env, command or WORKER_COMMAND
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> AnswerWorkers:
        self.procs = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._watch = threading.Thread(target=self._supervise, name="answer-workers", daemon=True)
            self._watch.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, env={**os.environ, **self.env})

    def _supervise(self) -> None:
        pause = 1.0
        while not self._stop.wait(1.0):
            for i, proc in enumerate(self.procs):
                if proc.poll() is None or self._stop.is_set():
                    continue
                log.error("answer worker %s exited with %s; starting another in %.0f s", proc.pid,
                          proc.returncode, pause)
                if self._stop.wait(pause):
                    return
                self.procs[i] = self._spawn()
                pause = min(60.0, pause * 2)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: each worker finishes its current pass; killed if it has not after `timeout`."""
        self._stop.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def answer_worker_main() -> None:
    """`skinsage worker` as serve's child. Linux: it gets SIGTERM when serve dies, even by SIGKILL, so
    no orphan keeps answering (elsewhere `AnswerWorkers.stop` is what ends it)."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:   # serve died before the line above
        return
    from skinsage.cli import main

    main()


def _exit_on_sigterm(*_: object) -> None:
    raise SystemExit(0)


def serve_processes(settings: Settings, host: str, port: int, log_level: str) -> None:
    """`skinsage serve` with `SKINSAGE_HTTP_WORKERS` > 1 or answer workers: returns on SIGINT/SIGTERM
    after the HTTP workers stopped, then stops the answer workers."""
    import uvicorn

    prepare_shared_state(settings)
    env = child_env(settings)
    rate_dir = None
    if settings.http_workers > 1 and settings.rate_limit_dir is None:
        # one budget per caller across the HTTP processes, not one each: buckets in shared memory
        # (api/ratelimit.py), fresh for each serve
        shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        rate_dir = tempfile.mkdtemp(prefix="skinsage-ratelimits-", dir=shm)
        env["SKINSAGE_RATE_LIMIT_DIR"] = rate_dir
    os.environ.update(env)   # uvicorn's worker processes are spawned with this environment
    # uvicorn re-raises SIGTERM after its graceful shutdown; by default that would end this process
    # before `finally`, leaving the answer workers running: exit through Python instead
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workers = AnswerWorkers(answer_worker_count(settings), env).start()
    log.info("serving with %d HTTP and %d answer worker processes", settings.http_workers, workers.count)
    try:
        uvicorn.run("api.channels.topology:http_app", factory=True, host=host, port=port,
                    workers=settings.http_workers, log_level=log_level, log_config=None)
    finally:
        workers.stop()
        if rate_dir is not None:
            shutil.rmtree(rate_dir, ignore_errors=True)
