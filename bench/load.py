"""Load over ``make run``: 4, 16 and 64 concurrent clients on the local stack.

Starts ``python -m devstack`` on free loopback ports over a temporary data folder (or, with
``--base http://127.0.0.1:8000 --devstack-pid <pid>``, uses a running ``make run``), signs
up one account per client, then each level runs for ``--seconds`` (default 20) with the
mix of issue 11: 10 % sign-in, 30 % each of ``GET /account``, ``GET /billing`` and ``GET
/billing/invoices``.  Per level it prints req/s, p50 / p95 / p99 latency, answers by status
(connection errors by type), the devstack's resident memory, and how many "dictionary changed
size" tracebacks the devstack's log holds.

Bars (issue 11): no 5xx at any level, no "dictionary changed size", p99 at 16 clients under
2 s.  Bounded (each level stops after ``--seconds``), loopback only.

    .venv/bin/python bench/load.py [--seconds 20] [--levels 4,16,64]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

# bench/requests.py is named like the ``requests`` package: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from devstack.running import RunningDevstack, rss_mb  # noqa: E402

PASSWORD = "load pass phrase"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def level(stack: RunningDevstack, users: list[tuple[str, str]], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        email, token = users[n]
        while time.monotonic() < deadline:
            roll = rng.random()
            began = time.perf_counter()
            try:
                if roll < 0.10:
                    status, body = stack.call(
                        "POST", "/login", {"email": email, "password": PASSWORD}, timeout=60
                    )
                    if status == 200:
                        token = body["token"]
                elif roll < 0.40:
                    status, _ = stack.call("GET", "/account", token=token, timeout=60)
                elif roll < 0.70:
                    status, _ = stack.call("GET", "/billing", token=token, timeout=60)
                else:
                    status, _ = stack.call("GET", "/billing/invoices", token=token, timeout=60)
                key = str(status)
            except OSError as error:
                key = type(error).__name__
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                answers[key] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - began
    return {
        "clients": len(users),
        "rate": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.50),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "answers": answers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--levels", default="4,16,64")
    parser.add_argument("--base", help="a running make run's API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--devstack-pid", type=int, help="its devstack's pid (for RSS)")
    parser.add_argument("--log", type=Path, help="its devstack's log (for tracebacks)")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        stack = RunningDevstack(Path(folder))
        if args.base:
            stack.ports["PORT"] = int(args.base.rsplit(":", 1)[1].strip("/"))
        else:
            stack.start()
        pid = args.devstack_pid or (stack.pid if stack.process else 0)
        log = args.log or stack.log_path
        try:
            users = []
            for n in range(max(levels)):
                email = f"load-{n}-{uuid.uuid4().hex[:8]}@example.com"
                body = {"email": email, "password": PASSWORD, "name": "Load", "country": "FR"}
                status, answer = stack.call("POST", "/signup", body)
                assert status == 201, (status, answer)
                users.append((email, answer["token"]))
            print(
                f"{'clients':>7} {'req/s':>6} {'p50':>7} {'p95':>7} {'p99':>7} "
                f"{'devstack':>9} {'dict-size':>9}  answers"
            )
            results = []
            for clients in levels:
                result = level(stack, users[:clients], args.seconds)
                text = log.read_text(errors="replace") if log.exists() else ""
                result["dict"] = text.count("dictionary changed size")
                result["rss"] = rss_mb(pid) if pid else 0.0
                results.append(result)
                print(
                    f"{clients:>7} {result['rate']:>6.1f} {result['p50'] * 1000:>5.0f}ms "
                    f"{result['p95'] * 1000:>5.0f}ms {result['p99'] * 1000:>5.0f}ms "
                    f"{result['rss']:>6.0f} MB {result['dict']:>9}  "
                    + ", ".join(f"{k}: {v}" for k, v in sorted(result["answers"].items())),
                    flush=True,
                )
        finally:
            if stack.process is not None:
                stack.stop(60)

    five_xx = sum(n for r in results for k, n in r["answers"].items() if k.startswith("5"))
    errors = sum(n for r in results for k, n in r["answers"].items() if not k.isdigit())
    p99_16 = next((r["p99"] for r in results if r["clients"] == 16), None)
    print(
        f"bars: 5xx {five_xx} ({'PASS' if five_xx == 0 else 'FAIL'}); connection errors {errors}; "
        f"'dictionary changed size' {results[-1]['dict']} "
        f"({'PASS' if results[-1]['dict'] == 0 else 'FAIL'})"
        + (
            f"; p99 at 16 clients {p99_16 * 1000:.0f} ms ({'PASS' if p99_16 < 2 else 'FAIL'})"
            if p99_16 is not None
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
