"""Photo analysis latency for a 12-megapixel JPEG selfie, end to end from upload bytes.

    python bench/vision.py [--megapixels 12 --n 40]

Builds a portrait JPEG of the given size from scikit-image's astronaut (upscaled, with sensor-like
noise so the file is a realistic ~3 MB), then times each stage and the whole `analyze_photo`.
Needs the test extra (scikit-image). Target: full analysis p95 < 300 ms on 2 cores. The CPU
column is the process's own CPU time per call, a floor for the wall time on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import print_table, summary, time_calls
from skinsage.settings import Settings
from vision import testing
from vision.intake import load_photo
from vision.service import build_analyzer


def cpu_ms(fn: Callable[[int], object], n: int) -> float:
    """Median process CPU time per call: what a call costs, however busy the machine is."""
    out = []
    for i in range(n):
        t = time.process_time()
        fn(i)
        out.append((time.process_time() - t) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--megapixels", type=float, default=12.0)
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args()

    data = testing.large_jpeg(args.megapixels)
    analyzer = build_analyzer(Settings())
    photo = load_photo(data, analyzer.limits)
    h, w = photo.info.height, photo.info.width
    print(f"{w}x{h} JPEG, {len(data) / 1e6:.1f} MB, working size {photo.rgb.shape[1]}x{photo.rgb.shape[0]}, "
          f"{os.cpu_count()} cores, n={args.n}")
    stages = {
        "decode + orient + strip": lambda i: load_photo(data, analyzer.limits),
        "face + eye detection": lambda i: analyzer.detector.detect(photo.rgb),
        "gate + measure + findings": lambda i: analyzer.analyze_loaded(photo),
        "full analyze_photo (bytes in)": lambda i: analyzer.analyze(data),
    }
    rows: list[list[object]] = []
    for name, fn in stages.items():
        p50, p95, mean = summary(time_calls(fn, args.n, warmup=3))
        rows.append([name, p50, p95, mean, cpu_ms(fn, max(5, args.n // 4))])
    print_table(["stage", "p50 ms", "p95 ms", "mean ms", "CPU ms (p50)"], rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) {load:.2f}: wall times above CPU times mean other work shared the cores")


if __name__ == "__main__":
    main()
