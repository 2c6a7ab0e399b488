"""Run every benchmark in bench/ and print one table.

    python -m bench.run              # quick sizes (a few minutes on a laptop)
    python -m bench.run --full       # each script's own defaults (much longer)
    python -m bench.run graph vision # only these

Each script runs in its own process (a crash or a hang in one does not stop the others) and prints its
own table with `bench._util.print_table`; this runner reads those tables back and prints them as one:
a row per table row, the script's first column as the case, the other columns as `name=value`.
A new script in bench/ is picked up automatically; give it quick arguments in QUICK.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench._util import print_table

HERE = Path(__file__).resolve().parent
#: Small sizes so the whole set finishes in minutes; PostgreSQL/Neo4j backends only when reachable.
QUICK: dict[str, list[str]] = {
    "graph": ["--products", "500", "--customers", "2000", "--orders", "8000", "--n", "50"],
    "ingest": ["--lines", "5000", "--customers", "500"],
    "pipeline": ["--messages", "300", "--backends", "sqlite,sqlite-normal"],
    "channels": ["--seconds", "10", "--backends", "sqlite", "--concurrency", "8"],
    "retrieval": ["--chunks", "5000", "--queries", "100"],
    "turns": ["--conversations", "6", "--rounds", "2", "--think-ms", "0"],
    "vision": ["--megapixels", "3", "--n", "10"],
    "proactive_week": ["--visitors", "60", "--customers", "15", "--chats", "10"],
    "http_load": ["--requests", "300"],
    "recommend": ["--products", "240", "--customers", "800", "--orders", "16000", "--n", "60"],
    "forecast": ["--skus", "500"],
}
SKIP = {"run", "_util", "__init__"}


def scripts() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP)


def tables(output: str) -> list[tuple[list[str], list[list[str]]]]:
    """The `print_table` grids in a script's output: (headers, rows) each."""
    found: list[tuple[list[str], list[list[str]]]] = []
    rows: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith("| ") and line.rstrip().endswith("|"):
            rows.append([c.strip() for c in line.strip()[1:-1].split(" | ")])
        elif rows and not line.startswith("+"):
            found.append((rows[0], rows[1:]))
            rows = []
    if rows:
        found.append((rows[0], rows[1:]))
    return found


def run_one(name: str, full: bool, timeout_s: float) -> tuple[str, float, str]:
    args = [] if full else QUICK.get(name, [])
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=HERE.parent, env=env,
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - started, ""
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    return status, time.perf_counter() - started, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", help="script names (default: all)")
    ap.add_argument("--full", action="store_true", help="each script's default sizes")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per script")
    a = ap.parse_args()
    rows: list[list[object]] = []
    for name in a.only or scripts():
        status, seconds, out = run_one(name, a.full, a.timeout)
        print(f"{name}: {status} in {seconds:.0f}s", file=sys.stderr)
        grids = tables(out)
        if status != "ok" or not grids:
            rows.append([name, "-", status if status != "ok" else "no table printed", round(seconds)])
            continue
        for headers, body in grids:
            for r in body:
                metrics = "; ".join(f"{h}={v}" for h, v in zip(headers[1:], r[1:], strict=False))
                rows.append([name, r[0], metrics, round(seconds)])
    print_table(["bench", "case", "results", "script s"], rows)


if __name__ == "__main__":
    main()
