"""Demo accounts for the local stack (``python -m chalicelib.cli seed-demo``).

The local stage only: on any other stage ``seed-demo`` writes nothing, says why on standard
error and exits with status 2 (the demo password is public).

Idempotent: an account whose email exists is left as it is.  Every demo account has the
password :data:`DEMO_PASSWORD`.  Accounts that need billing (card, invoices, VAT) are
completed by the billing features as they land; see the README for what each one shows.
Trial accounts carry their ``trial`` work-queue keys from creation (the repository's mapper
derives them from the status on every write), so the ``trials`` job finds them with no
migration; ``expired-trial@example.com`` is left as that job leaves an ended trial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import Struct

from chalicelib.domain.account import AccountChange, AccountStatus
from chalicelib.domain.errors import Conflict
from chalicelib.wiring import Container

DEMO_PASSWORD = "HelpDesk-demo-2026"  # noqa: S105 - the documented demo password


class SeedRefused(Exception):
    """Demo accounts (with their public password) are never written outside the local stage."""

    def __init__(self, stage: str) -> None:
        super().__init__(
            f"seed-demo refused: STAGE={stage}. The demo accounts share a public password "
            "(README); they are written on the local stage only."
        )
        self.stage = stage


def check_may_seed(stage: str) -> None:
    """The one rule: seeding runs on the local stage only (raises :class:`SeedRefused`)."""
    if stage != "local":
        raise SeedRefused(stage)


class DemoAccount(Struct, frozen=True):
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
    DemoAccount(
        "expired-trial@example.com", "Éloïse Expirée", "FR", "fr", AccountStatus.TRIAL_EXPIRED
    ),
)


def seed_demo(box: Container) -> list[str]:
    """Create the demo accounts that do not exist yet; the emails created.  Refused
    (:class:`SeedRefused`, nothing written) outside the local stage."""
    check_may_seed(box.settings.stage)
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
        if demo.status is AccountStatus.TRIAL_EXPIRED:  # as the trials job leaves it
            ended = account.evolve(status=demo.status, trial_ends_at=account.created_at)
            box.repo.commit(AccountChange(account=ended, expected_version=account.version))
        elif demo.status is not AccountStatus.TRIAL or demo.plan:
            box.repo.commit(
                AccountChange(
                    account=account.evolve(
                        status=demo.status, plan=demo.plan, session_epoch=account.session_epoch + 1
                    ),
                    expected_version=account.version,
                )
            )
        created.append(demo.email)
    created.extend(seed_billing_demo(box, payment_method_maker(box)))
    if seed_cancelled_paid(box, payment_method_maker(box)):
        created.append(CANCELLED_PAID_EMAIL)
    return created


# --- cancelled paid account (lifecycle) --------------------------------------------------------
CANCELLED_PAID_EMAIL = "cancelled-paid@example.com"
SEED_IP = "127.0.0.1"


def payment_method_maker(box: Container) -> Callable[[str], str]:
    """``make(card number) -> PaymentMethod id``, as Stripe.js would make it in a browser: on
    the fake gateway when the container has one, else on the configured (embedded) Stripe."""
    from chalicelib.adapters.fake_payments import FakePaymentGateway

    gateway = box.gateway
    if isinstance(gateway, FakePaymentGateway):
        return gateway.add_test_card

    def make(number: str) -> str:
        import stripe

        stripe.enable_telemetry = False
        s = box.settings
        client = stripe.StripeClient(
            s.stripe_secret_key,
            base_addresses={"api": s.stripe_api_base} if s.stripe_api_base else {},
            http_client=stripe.RequestsClient(timeout=(2, 10)),
        )
        card = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
        params: Any = {"type": "card", "card": card}
        return str(client.v1.payment_methods.create(params=params).id)

    return make


def seed_cancelled_paid(
    box: Container, make_payment_method: Callable[[str], str], email: str = CANCELLED_PAID_EMAIL
) -> bool:
    """``cancelled-paid@example.com``: card 4242, one paid month of basic-monthly, then
    cancelled (reason ``switching``).  False when the account already exists."""
    from chalicelib.domain.account import Caller

    try:
        signed_in = box.auth.signup(
            email=email,
            password=DEMO_PASSWORD,
            name="Paula Paid",
            country="FR",
            phone="+33 6 12 34 56 78",
            locale="fr",
            ip=SEED_IP,
        )
    except Conflict:
        return False
    caller = box.auth.authenticate(signed_in.token, SEED_IP)
    account = box.billing.set_card(caller, make_payment_method("4242424242424242"))
    account = box.billing.subscribe(Caller(account, caller.session, SEED_IP), "basic-monthly")
    box.lifecycle.cancel(
        Caller(account, caller.session, SEED_IP),
        DEMO_PASSWORD,
        "switching",
        "Demo account: one paid month, then cancelled.",
    )
    return True


# --- billing demo accounts: paid, past due, EU business ----------------------------------------
PAID_EMAIL = "paid@example.com"
PAST_DUE_EMAIL = "pastdue@example.com"
EU_BUSINESS_EMAIL = "eu-business@example.com"
EU_BUSINESS_VAT_ID = "FR40303265045"  # valid check digits; the fake VIES answers "valid"


def _subscriber(  # noqa: PLR0917 - the demo history builder: one positional per fact
    box: Container,
    email: str,
    name: str,
    country: str,
    locale: str,
    card: str,
    make_payment_method: Callable[[str], str],
) -> Any:
    """A signed-in subscriber of basic-monthly (or None when the email exists)."""
    from chalicelib.domain.account import Caller
    from chalicelib.domain.billing import Address

    try:
        signed_in = box.auth.signup(
            email=email,
            password=DEMO_PASSWORD,
            name=name,
            country=country,
            phone=None,
            locale=locale,
            ip=SEED_IP,
        )
    except Conflict:
        return None
    caller = box.auth.authenticate(signed_in.token, SEED_IP)
    address = Address(
        name=name,
        line1="12 rue de Rivoli" if country == "FR" else "1 Main St",
        city="Paris" if country == "FR" else "Springfield",
        postal_code="75001" if country == "FR" else "12345",
        country=country,
    )
    account, _ = box.billing.set_address(caller, address)
    caller = Caller(account, caller.session, SEED_IP)
    account = box.billing.set_card(caller, make_payment_method(card))
    return Caller(
        box.billing.subscribe(Caller(account, caller.session, SEED_IP), "basic-monthly"),
        caller.session,
        SEED_IP,
    )


def seed_billing_demo(box: Container, make_payment_method: Callable[[str], str]) -> list[str]:
    """``paid@`` (card 4242, three paid months), ``pastdue@`` (a card that attaches but
    declines, 4000000000000341: its last renewal failed an hour ago, one pending charge) and
    ``eu-business@`` (billed in France with a VAT ID)."""
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    from chalicelib.domain.account import Caller

    created = []
    now = box.clock.now()
    start = now - relativedelta(months=2, days=2)
    if _subscriber(
        box.with_clock(start),
        PAID_EMAIL,
        "Paul Paid",
        "US",
        "en",
        "4242424242424242",
        make_payment_method,
    ):
        for months in (1, 2):
            box.with_clock(start + relativedelta(months=months)).billing.run_renewals()
        created.append(PAID_EMAIL)

    start = now - relativedelta(months=1) - timedelta(hours=1)
    caller = _subscriber(
        box.with_clock(start),
        PAST_DUE_EMAIL,
        "Pat Pastdue",
        "FR",
        "fr",
        "4242424242424242",
        make_payment_method,
    )
    if caller is not None:
        box.billing.set_card(caller, make_payment_method("4000000000000341"))
        box.with_clock(start + relativedelta(months=1)).billing.run_renewals()
        created.append(PAST_DUE_EMAIL)

    caller = _subscriber(
        box,
        EU_BUSINESS_EMAIL,
        "Europa Business SARL",
        "FR",
        "fr",
        "4242424242424242",
        make_payment_method,
    )
    if caller is not None:
        account = box.repo.get_account(caller.account.id)
        assert account is not None
        box.vat.set_vat_id(Caller(account, caller.session, SEED_IP), EU_BUSINESS_VAT_ID)
        created.append(EU_BUSINESS_EMAIL)
    return created


ALL_DEMO_EMAILS: tuple[str, ...] = (
    *(d.email for d in DEMO_ACCOUNTS),
    PAID_EMAIL,
    PAST_DUE_EMAIL,
    EU_BUSINESS_EMAIL,
    CANCELLED_PAID_EMAIL,
)
