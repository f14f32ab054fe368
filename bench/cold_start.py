"""Cold start: the median time of ``import app`` against a bare ``import chalice, boto3``.

Each sample is a fresh interpreter (as a Lambda cold start is); the two kinds of sample are
interleaved so that machine noise hits both alike.  Bar (DESIGN.md): ratio at most 1.3.

    .venv/bin/python bench/cold_start.py [--samples 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def sample(stmt: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=stmt)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    bare: list[float] = []
    app: list[float] = []
    for _ in range(args.samples):
        bare.append(sample("import chalice, boto3"))
        app.append(sample("import app"))
    bare_ms = statistics.median(bare) * 1000
    app_ms = statistics.median(app) * 1000
    ratio = app_ms / bare_ms
    print(f"import chalice, boto3 : median {bare_ms:7.1f} ms over {args.samples} runs")
    print(f"import app            : median {app_ms:7.1f} ms over {args.samples} runs")
    verdict = "OK" if ratio <= 1.3 else "OVER"
    print(f"ratio                 : {ratio:.2f} (bar: at most 1.3) {verdict}")


if __name__ == "__main__":
    main()
