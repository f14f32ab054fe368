"""Demo accounts for the local stack (``python -m chalicelib.cli seed-demo``).

Idempotent: an account whose email exists is left as it is.  Every demo account has the
password :data:`DEMO_PASSWORD`.  Accounts that need billing (card, invoices, VAT) are
completed by the billing features as they land; see the README for what each one shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.account import AccountChange, AccountStatus
from chalicelib.domain.errors import Conflict
from chalicelib.wiring import Container

DEMO_PASSWORD = "HelpDesk-demo-2026"  # noqa: S105 - the documented demo password


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    country: str
    locale: str
    status: AccountStatus
    plan: str | None = None


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("trial@example.com", "Tina Trial", "US", "en", AccountStatus.TRIAL),
    DemoAccount(
        "cancelled-trial@example.com", "Carl Cancelled", "GB", "en", AccountStatus.CANCELLED
    ),
)


def seed_demo(box: Container) -> list[str]:
    """Create the demo accounts that do not exist yet; the emails created."""
    created: list[str] = []
    for demo in DEMO_ACCOUNTS:
        try:
            signed_in = box.auth.signup(
                email=demo.email,
                password=DEMO_PASSWORD,
                name=demo.name,
                country=demo.country,
                phone=None,
                locale=demo.locale,
                ip="127.0.0.1",
            )
        except Conflict:
            continue
        account = signed_in.account
        if demo.status is not AccountStatus.TRIAL or demo.plan:
            box.repo.commit(
                AccountChange(
                    account=account.evolve(
                        status=demo.status, plan=demo.plan, session_epoch=account.session_epoch + 1
                    ),
                    expected_version=account.version,
                )
            )
        created.append(demo.email)
    return created
