"""The local stack's memory and sign-up latency as its table grows (``make run``'s program).

Starts ``python -m devstack`` on free loopback ports over a temporary data folder, then:

1. growth: fills the table with accounts (written through the real ``DynamoRepository``,
   several threads, as sign-ups would write them) up to ``--accounts`` (default 5,000) and, at
   each checkpoint, times ``--samples`` sign-ups over HTTP (p50 / p95) and reads the
   devstack's resident memory;
2. mixed load: ``--requests`` (default 10,000) requests from ``--clients`` threads - sign-in,
   sign-up, ``GET /account``, ``GET /billing``, ``GET /billing/invoices``, a profile edit -
   printing throughput, answers by status and the devstack's memory as it goes, then again
   after a few seconds idle;
3. stop: SIGTERM, the time until every port is free.

Bars (issue 11): the devstack under 600 MB after the mixed load, sign-up latency flat as the
table grows to 5,000 accounts.  Bounded: it stops by itself (``--max-seconds`` caps the mixed
load), loopback only.

    .venv/bin/python bench/local_stack.py [--accounts 5000] [--requests 10000] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/requests.py is named like the ``requests`` package: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from devstack.running import RunningDevstack, rss_mb  # noqa: E402

PASSWORD = "bench pass phrase"
DEMO = ("paid@example.com", "HelpDesk-demo-2026")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def signup_body(prefix: str) -> dict[str, str]:
    return {
        "email": f"{prefix}-{uuid.uuid4().hex[:12]}@example.com",
        "password": PASSWORD,
        "name": "Bench",
        "country": "FR",
    }


def repository(stack: RunningDevstack) -> Any:
    from chalicelib.adapters.dynamo.repository import DynamoRepository
    from chalicelib.config import settings_from_env
    from devstack.stack import local_environment

    env = local_environment(
        stack.ports["LOCAL_AWS_PORT"],
        stack.ports["LOCAL_STRIPE_PORT"],
        stack.ports["LOCAL_VIES_PORT"],
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    return DynamoRepository(settings_from_env({**os.environ, **env}))


def fill(repo: Any, count: int, password_hash: str) -> None:
    """``count`` more accounts, each written as a sign-up writes one (account + email marker +
    session + audit event)."""
    from chalicelib.domain.account import Account, AccountChange, AuditEvent, Session

    now = datetime.now(UTC)

    def one(_: int) -> None:
        account_id = uuid.uuid4().hex
        account = Account(
            id=account_id,
            email=f"fill-{account_id[:14]}@example.com",
            name="Filler",
            country="FR",
            locale="en",
            password_hash=password_hash,
            created_at=now,
            trial_ends_at=now + timedelta(days=14),
        )
        session = Session(account_id, uuid.uuid4().hex, 0, now, now, "127.0.0.1")
        repo.commit(
            AccountChange(
                account=account,
                create=True,
                put_sessions=(session,),
                audit=(AuditEvent(account_id, now, "signup"),),
            )
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def growth(stack: RunningDevstack, accounts: int, samples: int) -> list[tuple[int, float, float]]:
    from chalicelib.adapters.passwords import Argon2Hasher

    repo = repository(stack)
    password_hash = Argon2Hasher().hash(PASSWORD)
    checkpoints = sorted({0, accounts // 5, accounts // 2, accounts})
    rows: list[tuple[int, float, float]] = []
    size = 0
    print(f"{'accounts':>9} {'sign-up p50':>12} {'p95':>8} {'devstack RSS':>13}")
    for checkpoint in checkpoints:
        started = time.monotonic()
        fill(repo, checkpoint - size, password_hash)
        size = checkpoint
        filled = time.monotonic() - started
        latencies = []
        for _ in range(samples):
            began = time.perf_counter()
            status, _ = stack.call("POST", "/signup", signup_body("grow"))
            latencies.append((time.perf_counter() - began) * 1000)
            assert status == 201, status
        size += samples
        p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        rows.append((size, p50, p95))
        print(
            f"{size:>9} {p50:>9.0f} ms {p95:>5.0f} ms {rss_mb(stack.pid):>10.0f} MB"
            f"   (filled in {filled:.0f} s)",
            flush=True,
        )
    return rows


def mixed(
    stack: RunningDevstack, total: int, clients: int, max_seconds: float
) -> tuple[Counter[str], float, int]:
    status, body = stack.call("POST", "/login", {"email": DEMO[0], "password": DEMO[1]})
    assert status == 200, (status, body)
    demo_token = body["token"]
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    done = 0
    deadline = time.monotonic() + max_seconds
    began = time.monotonic()
    next_report = 2000

    def client(n: int) -> None:
        nonlocal done, next_report
        rng = random.Random(n)
        status, body = stack.call("POST", "/signup", signup_body(f"mix{n}"))
        email, token = (body["account"]["email"], body["token"]) if status == 201 else (None, None)
        while time.monotonic() < deadline:
            with lock:
                if done >= total:
                    return
                done += 1
                report = done >= next_report
                if report:
                    next_report += 2000
            roll = rng.random()
            try:
                if roll < 0.08 and email:
                    status, _ = stack.call("POST", "/login", {"email": email, "password": PASSWORD})
                elif roll < 0.10:
                    status, _ = stack.call("POST", "/signup", signup_body(f"mix{n}"))
                elif roll < 0.35:
                    status, _ = stack.call("GET", "/account", token=token or demo_token)
                elif roll < 0.60:
                    status, _ = stack.call("GET", "/billing", token=demo_token)
                elif roll < 0.90:
                    status, _ = stack.call("GET", "/billing/invoices", token=demo_token)
                else:
                    status, _ = stack.call(
                        "PATCH", "/account/profile", {"name": f"Bench {rng.randint(1, 99)}"}, token
                    )
                key = str(status)
            except OSError as error:
                key = type(error).__name__
            with lock:
                statuses[key] += 1
            if report:
                elapsed = time.monotonic() - began
                print(
                    f"  {done:>6} requests  {done / elapsed:5.1f} req/s  "
                    f"devstack {rss_mb(stack.pid):4.0f} MB",
                    flush=True,
                )

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return statuses, time.monotonic() - began, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-devstack-") as folder:
        stack = RunningDevstack(Path(folder))
        started = time.monotonic()
        stack.start()
        print(
            f"devstack up in {time.monotonic() - started:.1f} s, "
            f"RSS {rss_mb(stack.pid):.0f} MB "
            f"(chalice local {rss_mb(stack.chalice_pid() or 0):.0f} MB)"
        )
        try:
            rows = growth(stack, args.accounts, args.samples)
            print(f"mixed load: {args.requests} requests, {args.clients} clients")
            statuses, seconds, done = mixed(stack, args.requests, args.clients, args.max_seconds)
            after = rss_mb(stack.pid)
            time.sleep(5)
            idle = rss_mb(stack.pid)
            log = stack.log_path.read_text(errors="replace")
        finally:
            began = time.monotonic()
            code = stack.stop(60)
            stopped = time.monotonic() - began
        free = stack.ports_free()
        phases = [line for line in stack.log_tail(10).splitlines() if "stopped in" in line]

    first, last = rows[0], rows[-1]
    flat = last[1] <= max(2 * first[1], first[1] + 100)
    server_errors = sum(n for key, n in statuses.items() if key.startswith("5"))
    print(
        f"\nmixed: {done} requests in {seconds:.0f} s ({done / seconds:.1f} req/s); answers "
        + ", ".join(f"{key}: {n}" for key, n in sorted(statuses.items()))
    )
    print(f"devstack RSS after the load {after:.0f} MB, after 5 s idle {idle:.0f} MB")
    print(f"'dictionary changed size' in the log: {log.count('dictionary changed size')}")
    print(f"stop: status {code} in {stopped:.1f} s, every port free: {free}")
    print("  " + (phases[-1] if phases else "(no stop line in the log)"))
    print(
        f"bars: RSS < 600 MB {'PASS' if after < 600 else 'FAIL'}; sign-up p50 "
        f"{first[1]:.0f} ms at {first[0]} accounts -> {last[1]:.0f} ms at {last[0]} "
        f"{'PASS (flat)' if flat else 'FAIL (grows)'}; 5xx: {server_errors}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
