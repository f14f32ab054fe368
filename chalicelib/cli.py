"""Operator commands: ``python -m chalicelib.cli {run-job,seed-demo,create-table,
requeue-failed-mail,export-oss}``.

``export-oss --quarter 2026Q4 [--out FILE]`` writes the One-Stop Shop return of the quarter
as CSV, one row per member state and rate (``services/oss.py``: read from the quarter's OSS
ledger in the index, no Scan; domestic French sales are not in it).

``requeue-failed-mail`` puts mail the relay gave up on (permanent SES errors, or 3 days of
temporary ones) back in the queue with a fresh retry window: the named ones (``--id``, several
allowed), else every failed mail, found from the ``mail_failed`` index (no Scan).  It prints
``{"requeued": [...], "skipped": [...]}``; the next outbox run sends them (or ``run-job
outbox`` at once).

Without ``--stage`` they use the local stack that ``make run`` starts (same ports and
environment variables); with ``--stage dev|prod`` they use that stage's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from chalicelib.domain.ids import parse_iso
from chalicelib.jobs.run import JOBS


def main(argv: list[str] | None = None) -> int:  # noqa: C901, PLR0912, PLR0915 - one branch per command; seed-demo is being changed (structure)
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    parser.add_argument("--stage", default=None, help="stage whose environment to use")
    commands = parser.add_subparsers(dest="command", required=True)
    job = commands.add_parser("run-job", help="run a scheduled job once")
    job.add_argument("name", choices=list(JOBS))
    job.add_argument("--now", default=None, help="ISO 8601 time to run the job at")
    commands.add_parser("seed-demo", help="create the demo accounts")
    commands.add_parser("create-table", help="create the table and its indexes if missing")
    requeue = commands.add_parser(
        "requeue-failed-mail", help="put failed outbox mail back in the queue"
    )
    requeue.add_argument(
        "--id", dest="ids", action="append", default=[], metavar="ID", help="a mail id (repeat)"
    )
    requeue.add_argument(
        "--limit", type=int, default=1000, help="at most this many failed mails (without --id)"
    )
    oss = commands.add_parser("export-oss", help="the One-Stop Shop return of a quarter, as CSV")
    oss.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    oss.add_argument("--out", default=None, help="file to write (default: standard output)")
    args = parser.parse_args(argv)

    if args.stage:
        os.environ["STAGE"] = args.stage
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if os.environ.get("STAGE", "local") == "local":
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

    if args.command == "export-oss":
        from chalicelib.domain.tax import parse_quarter

        try:
            parse_quarter(args.quarter)
        except ValueError:
            parser.error("--quarter must look like 2026Q4")

    from chalicelib.config import get_settings, require_seller_identity
    from chalicelib.domain.legal import SellerSettingsMissing
    from chalicelib.wiring import container

    if args.command == "seed-demo":
        from chalicelib.seed import SeedRefused, check_may_seed

        try:
            check_may_seed(get_settings().stage)  # before anything is built or read
        except SeedRefused as refused:
            print(refused, file=sys.stderr)
            return 2
    try:
        require_seller_identity(get_settings())
    except SellerSettingsMissing as refused:
        print(refused, file=sys.stderr)
        return 2

    if args.command == "run-job":
        from chalicelib.jobs.run import run_job

        try:
            now = parse_iso(args.now) if args.now else None
        except ValueError:
            parser.error("--now must be an ISO 8601 time, e.g. 2026-11-26T10:00:00Z")
        print(json.dumps(run_job(args.name, now)))
    elif args.command == "seed-demo":
        from chalicelib.seed import seed_demo

        print(json.dumps({"created": seed_demo(container())}))
    elif args.command == "create-table":
        from chalicelib.adapters.dynamo.models import create_table

        create_table(container().settings)
        print(json.dumps({"table": container().settings.table_name}))
    elif args.command == "requeue-failed-mail":
        if args.limit < 1:
            parser.error("--limit must be at least 1")
        report = container().outbox_relay.requeue_failed(args.ids, args.limit)
        print(json.dumps({"requeued": report.requeued, "skipped": report.skipped}))
    elif args.command == "export-oss":
        from chalicelib.services.oss import oss_csv, oss_return

        text = oss_csv(oss_return(container().repo, args.quarter))
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        else:
            sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
