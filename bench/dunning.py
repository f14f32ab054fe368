"""Dunning at scale: N due charges settled through the real job, dispatcher and worker code.

Two runs:

1. throughput, over the in-memory repository (the embedded moto server tops out near 250
   DynamoDB requests per second here, so over it throughput would measure moto, not the
   service): N charges (default 10,000) against the fake gateway with a simulated latency
   (default 200 ms), printing charges per second, repository requests per charge, peak memory,
   the highest gateway request rate in any one second, and the double charges;
2. request count, over the real DynamoDB adapter on the embedded server with a smaller N,
   counting the DynamoDB requests the job makes per charge.

Bars (DESIGN.md): >= 80 charges/s, never above the request budget (90/s), <= 4 DynamoDB
requests per charge, peak memory < 150 MB, zero double charges.

    .venv/bin/python bench/dunning.py [--n 10000] [--latency 0.2] [--dynamodb-n 200]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from bisect import bisect_left
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/requests.py is named like the ``requests`` package: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from chalicelib.adapters.clock import FixedClock  # noqa: E402
from chalicelib.adapters.fake_payments import FakePaymentGateway  # noqa: E402
from chalicelib.adapters.memory import InMemoryRepository, PlainHasher, RecordingMailer  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.domain.account import Account, AccountChange, AccountStatus  # noqa: E402
from chalicelib.domain.billing import (  # noqa: E402
    Charge,
    ChargeState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    new_invoice_id,
)
from chalicelib.domain.ids import new_id  # noqa: E402
from chalicelib.domain.payments import CardSummary  # noqa: E402
from chalicelib.jobs.run import run_job  # noqa: E402
from chalicelib.wiring import Container, build_container  # noqa: E402

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def seed(box: Container, gateway: FakePaymentGateway, n: int) -> list[str]:
    """N past_due accounts, each with one charge due now; the charge ids."""
    ids = []
    for i in range(n):
        account_id = new_id()
        customer = gateway.create_customer(account_id, f"b{i}@example.com", "B", f"c:{account_id}")
        card = gateway.add_card(customer_id=customer)
        account = Account(
            id=account_id,
            email=f"b{i}-{account_id[:6]}@example.com",
            name="B",
            country="US",
            locale="en",
            password_hash="x",
            created_at=NOW,
            status=AccountStatus.PAST_DUE,
            plan="basic-monthly",
            customer_id=customer,
            payment_method_id=card,
            card=CardSummary("visa", "4242", 12, 2030),
        )
        invoice_id = new_invoice_id(NOW - timedelta(days=1))
        invoice = Invoice(
            id=invoice_id,
            account_id=account_id,
            number=f"HD-2026-{i + 1:06d}",
            status=InvoiceStatus.OPEN,
            issued_at=NOW - timedelta(days=1),
            period_start=NOW - timedelta(days=1),
            period_end=NOW + timedelta(days=29),
            currency="EUR",
            lines=(InvoiceLine("Basic", 1, 1500, 1500),),
            subtotal=1500,
            tax=Tax("0", 0),
            total=1500,
            customer=Party("B"),
            seller=Party("S"),
            plan_id="basic-monthly",
        )
        charge = Charge(
            id=invoice_id,
            account_id=account_id,
            invoice_id=invoice_id,
            amount=1500,
            currency="EUR",
            state=ChargeState.PENDING,
            created_at=NOW - timedelta(days=1),
            attempts=1,
            first_failed_at=NOW - timedelta(days=1),
            next_retry_at=NOW,
        )
        box.repo.commit(
            AccountChange(
                account=account, create=True, invoices=((invoice, None),), charges=((charge, None),)
            )
        )
        ids.append(invoice_id)
    return ids


def peak_rate(times: list[float]) -> int:
    """The most requests in any one-second window."""
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect_left(times, start + 1.0) - i)
    return best


def double_charges(gateway: FakePaymentGateway) -> int:
    paid: Counter[str] = Counter()
    for charge in gateway.charges:
        if charge.outcome.status == "succeeded":
            for charge_id in charge.metadata.get("charge_ids", "").split(","):
                paid[charge_id] += 1
    return sum(1 for count in paid.values() if count > 1)


def throughput(n: int, latency: float) -> None:
    gateway = FakePaymentGateway(latency=0.0)
    repo = InMemoryRepository()
    box = build_container(
        Settings(),
        repo=repo,
        mailer=RecordingMailer(),
        hasher=PlainHasher(),
        clock=FixedClock(NOW),
        gateway=gateway,
    )
    seed(box, gateway, n)
    gateway.latency = latency
    gateway.requests, gateway.request_times = 0, []
    requests_before = repo.requests
    tracemalloc.start()
    started = time.perf_counter()
    report = run_job("retry-pending", box=box)
    elapsed = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    settings = box.settings
    print(
        f"in-memory repository, fake gateway latency {latency * 1000:.0f} ms, "
        f"{settings.retry_consumer_concurrency} workers, budget {settings.stripe_request_budget}/s"
    )
    print(f"  charges settled        : {report['succeeded']} of {n} in {elapsed:.1f} s")
    print(f"  charges per second     : {n / elapsed:.1f}   (bar: >= 80)")
    print(
        f"  repository requests    : {(repo.requests - requests_before) / n:.2f} per charge "
        f"(bar: <= 4)"
    )
    print(
        f"  gateway peak rate      : {peak_rate(gateway.request_times)} requests in one second "
        f"(budget: {settings.stripe_request_budget})"
    )
    print(
        f"  peak memory            : {traced_peak / 2**20:.1f} MB allocated by the run, "
        f"{rss_mb:.1f} MB process max RSS incl. the {n}-account in-memory store (bar: < 150)"
    )
    print(f"  double charges         : {double_charges(gateway)}")


def request_count(n: int) -> None:
    from pynamodb.connection.base import Connection

    from chalicelib.config import settings_from_env
    from devstack.stack import start_stack

    stack = start_stack()
    try:
        from msgspec.structs import replace

        # moto's server is not safe under concurrent transactions: one worker counts requests
        # (throughput is measured by the in-memory run)
        settings = replace(
            settings_from_env({**os.environ, **stack.environment}), retry_consumer_concurrency=1
        )
        gateway = FakePaymentGateway()
        box = build_container(
            settings,
            mailer=RecordingMailer(),
            hasher=PlainHasher(),
            clock=FixedClock(NOW),
            gateway=gateway,
        )
        seed(box, gateway, n)
        calls: Counter[str] = Counter()
        original = Connection._make_api_call

        def counted(self: Any, operation: str, kwargs: dict[str, Any]) -> Any:
            calls[operation] += 1
            return original(self, operation, kwargs)

        Connection._make_api_call = counted  # type: ignore[method-assign]
        started = time.perf_counter()
        report = run_job("retry-pending", box=box)
        elapsed = time.perf_counter() - started
        Connection._make_api_call = original  # type: ignore[method-assign]
        total = sum(calls.values())
        print(
            f"DynamoDB adapter on the embedded moto server, {n} charges "
            f"({report['succeeded']} settled in {elapsed:.1f} s)"
        )
        print(
            f"  DynamoDB requests      : {total / n:.2f} per charge (bar: <= 4); "
            + ", ".join(f"{op} {count}" for op, count in sorted(calls.items()))
        )
        print(f"  Scan requests          : {calls['Scan']}")
        print(f"  double charges         : {double_charges(gateway)}")
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--dynamodb-n", type=int, default=200)
    args = parser.parse_args()
    throughput(args.n, args.latency)
    request_count(args.dynamodb_n)


if __name__ == "__main__":
    main()
