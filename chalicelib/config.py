"""Settings: one frozen object read from the environment.

Chalice stages (``.chalice/config.json``) set ``STAGE`` and the stage's variables; the local
stack (``make run``) and the tests only set ports.  For ``STAGE=local`` every endpoint is
derived from ``LOCAL_AWS_PORT`` and ``LOCAL_STRIPE_PORT`` on 127.0.0.1, so one port change
moves the app, the CLI and the stack together.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from functools import lru_cache
from typing import Mapping

from msgspec import Struct, field

from chalicelib.domain.legal import SellerLegal


class Plan(Struct, frozen=True):
    """A subscription plan offered to customers (amount in minor units)."""

    id: str
    name: str
    amount: int
    currency: str
    interval: str  # "month" or "year"
    # priced per agent seat: a period costs ``amount`` times the account's seats (a plan
    # configured through ``PLANS`` without ``per_seat`` is a flat price, as before)
    per_seat: bool = False

    def period_amount(self, seats: int) -> int:
        """The net price of one period for ``seats`` seats (minor units)."""
        return self.amount * (seats if self.per_seat else 1)


DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan("basic-monthly", "Basic (monthly)", 1500, "EUR", "month", per_seat=True),
    Plan("pro-monthly", "Pro (monthly)", 4900, "EUR", "month", per_seat=True),
    Plan("pro-yearly", "Pro (yearly)", 49000, "EUR", "year", per_seat=True),
)


LOCAL_SUPPORT_KEY = "support-local-key"
"""The support key of the local stack: refused outside it (a placeholder nobody replaced)."""


class Settings(Struct, frozen=True):
    """Everything configurable about the service; built once per process."""

    stage: str = "local"
    table_name: str = "helpdesk-accounts"
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None
    ses_sender: str = "no-reply@helpdesk.example.com"
    support_email: str = "support@helpdesk.example.com"
    console_url: str = "http://127.0.0.1:8000"
    vendor_name: str = "HelpDesk Accounts SAS"
    vendor_support_email: str = "support@helpdesk.example.com"
    vendor_vat_contact_email: str = "vat@helpdesk.example.com"
    vendor_vat_number: str | None = "FR11999999998"  # the local demo seller (DEMO_SELLER)
    vendor_country: str = "FR"
    vendor_address_line1: str = "10 rue de la Paix"
    vendor_city: str = "Paris"
    vendor_postal_code: str = "75002"
    # the seller's legal identity: the local demo seller by default; settings_from_env leaves
    # them unset outside the local stage unless configured (see seller_problems)
    vendor_siren: str | None = "999999998"
    vendor_rcs_city: str | None = "Paris"
    vendor_legal_form: str | None = "SAS"
    vendor_share_capital: str | None = "10000"  # decimal amount in EUR
    stripe_secret_key: str = "sk_test_local_placeholder"  # noqa: S105 - placeholder
    stripe_publishable_key: str = "pk_test_local_placeholder"
    stripe_api_base: str | None = None
    stripe_js_url: str = "https://js.stripe.com/v3/"
    stripe_webhook_secret: str = "whsec_local_placeholder"  # noqa: S105 - placeholder
    support_key: str = LOCAL_SUPPORT_KEY
    vies_url: str = "https://ec.europa.eu/taxation_customs/vies/rest-api"
    vies_timeout_seconds: float = 5.0
    session_idle_seconds: int = 2 * 3600
    session_absolute_seconds: int = 24 * 3600
    session_touch_seconds: int = 60  # last_seen_at: at most one write a minute per session
    # password-check throttle (domain.throttle): free failures, then 1 s, 2 s, 4 s ... capped
    login_free_failures: int = 5  # per account, from devices that never signed in to it
    login_device_free_failures: int = 10  # per trusted device (the owner's, more lenient)
    login_delay_base_seconds: int = 1
    login_delay_cap_seconds: int = 900
    login_window_seconds: int = 24 * 3600  # an account bucket restarts every window
    login_max_failures_per_address: int = 100  # per source address per address window
    login_address_window_seconds: int = 3600
    device_token_days: int = 180
    queue_shards: int = 8
    outbox_lease_seconds: int = 120
    trial_days: int = 14
    retry_queue_name: str = "helpdesk-accounts-charge-retries"
    retry_schedule_days: tuple[int, ...] = (1, 3, 5, 7, 10, 14)
    hard_decline_grace_days: int = 7  # a stopped charge suspends the account after this
    renewal_notice_days: int = 7  # yearly plans: the renewal notice goes this long before
    stripe_request_budget: int = 90  # requests per second toward Stripe (live limit: 100)
    retry_consumer_concurrency: int = 24  # SQS consumers at once (Lambda maximum concurrency)
    # a stream relays new mail (AWS stages; make run's poller): the outbox sweeper may then
    # skip its Queries while its wake marker says nothing is due (OUTBOX_STREAM=1/0)
    outbox_stream: bool = False
    plans: tuple[Plan, ...] = field(default=DEFAULT_PLANS)

    def plan(self, plan_id: str) -> Plan | None:
        """The plan with this id, or None."""
        return next((p for p in self.plans if p.id == plan_id), None)

    def renewal_notice_lead(self, plan_id: str | None) -> timedelta | None:
        """How long before a renewal of ``plan_id`` its notice is mailed: yearly plans only
        (``RENEWAL_NOTICE_DAYS``); None when the plan gets no notice."""
        plan = self.plan(plan_id or "")
        if plan is None or plan.interval != "year" or self.renewal_notice_days <= 0:
            return None
        return timedelta(days=self.renewal_notice_days)

    def seller_legal(self) -> SellerLegal | None:
        """The seller's identifiers for invoices (None only while they are not configured);
        ``SellerSettingsMissing`` when the SIREN or VAT number set is malformed."""
        require_seller_numbers(self)
        if not (
            self.vendor_siren
            and self.vendor_rcs_city
            and self.vendor_legal_form
            and self.vendor_share_capital
        ):
            return None
        return SellerLegal(
            legal_form=self.vendor_legal_form,
            share_capital=self.vendor_share_capital,
            share_capital_currency="EUR",
            siren=self.vendor_siren,
            rcs_city=self.vendor_rcs_city,
        )


SELLER_VARIABLES: dict[str, str] = {
    "VENDOR_NAME": "vendor_name",
    "VENDOR_VAT_NUMBER": "vendor_vat_number",
    "VENDOR_SIREN": "vendor_siren",
    "VENDOR_RCS_CITY": "vendor_rcs_city",
    "VENDOR_LEGAL_FORM": "vendor_legal_form",
    "VENDOR_SHARE_CAPITAL": "vendor_share_capital",
    "VENDOR_ADDRESS_LINE1": "vendor_address_line1",
    "VENDOR_POSTAL_CODE": "vendor_postal_code",
    "VENDOR_CITY": "vendor_city",
}
"""The seller identity every invoice prints, by environment variable."""

DEMO_SELLER: dict[str, str] = {
    "VENDOR_VAT_NUMBER": "FR11999999998",
    "VENDOR_SIREN": "999999998",
    "VENDOR_RCS_CITY": "Paris",
    "VENDOR_LEGAL_FORM": "SAS",
    "VENDOR_SHARE_CAPITAL": "10000",
}
"""The local stage's seller: clearly fictitious (SIREN 999 999 998), with valid check digits
so that every local invoice shows a complete identity.  Never used outside ``local``."""


_NO_SELLER = Settings(
    vendor_name="", vendor_address_line1="", vendor_city="", vendor_postal_code=""
)


def seller_problems(settings: Settings, *, numbers: bool = True) -> list[str]:
    """What is missing or wrong in the seller identity (empty when complete and valid);
    ``numbers=False`` leaves out the SIREN and VAT number checks (python-stdnum)."""
    from decimal import Decimal, InvalidOperation

    problems = [
        f"{variable} is not set"
        for variable, attribute in SELLER_VARIABLES.items()
        if not getattr(settings, attribute)
    ]
    if numbers:
        problems += seller_number_problems(settings.vendor_siren, settings.vendor_vat_number)
    if settings.vendor_share_capital:
        try:
            if Decimal(settings.vendor_share_capital) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append("VENDOR_SHARE_CAPITAL: a positive amount in euros, e.g. 10000")
    return problems


@lru_cache(maxsize=8)
def seller_number_problems(siren: str | None, vat_number: str | None) -> tuple[str, ...]:
    """What is wrong with the seller's SIREN and VAT number, when set (once per process: the
    numbers come from the stage's configuration)."""
    from chalicelib.domain.legal import check_fr_vat, check_siren

    problems = []
    if siren:
        try:
            check_siren(siren)
        except ValueError as error:
            problems.append(f"VENDOR_SIREN: {error}")
    if vat_number:
        try:
            check_fr_vat(vat_number, siren)
        except ValueError as error:
            problems.append(f"VENDOR_VAT_NUMBER: {error}")
    return tuple(problems)


def require_seller_identity(settings: Settings, *, numbers: bool = True) -> None:
    """Refuse to run a stage whose invoices would lack the seller's legal identity.

    A Lambda's cold start checks that every part is there (``numbers=False``: python-stdnum
    costs about 30 ms to import, on every route); the SIREN and VAT number are checked where
    an invoice takes them (``Settings.seller_legal``) and by the CLI before every command."""
    from chalicelib.domain.legal import SellerSettingsMissing

    problems = seller_problems(settings, numbers=numbers)
    if problems:
        raise SellerSettingsMissing(
            f"STAGE={settings.stage}: the seller identity printed on every invoice is "
            "incomplete; set these variables in .chalice/config.json for the stage: "
            + "; ".join(problems)
        )


def require_seller_numbers(settings: Settings) -> None:
    """Refuse to issue an invoice with a malformed SIREN or VAT number (the ones set)."""
    from chalicelib.domain.legal import SellerSettingsMissing

    problems = seller_number_problems(settings.vendor_siren, settings.vendor_vat_number)
    if problems:
        raise SellerSettingsMissing(
            f"STAGE={settings.stage}: the seller identity printed on every invoice is wrong: "
            + "; ".join(problems)
        )


def _parse_plans(raw: str | None) -> tuple[Plan, ...]:
    if not raw:
        return DEFAULT_PLANS
    return tuple(Plan(**item) for item in json.loads(raw))


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from environment variables (``os.environ`` by default)."""
    e = os.environ if env is None else env
    stage = e.get("STAGE", "local")
    endpoint = e.get("AWS_ENDPOINT_URL") or None
    stripe_base = e.get("STRIPE_API_BASE") or None
    stripe_js = e.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    console = e.get("CONSOLE_URL", "")
    vies = e.get("VIES_URL", "")
    if stage == "local":
        aws_port = e.get("LOCAL_AWS_PORT", "4566")
        stripe_port = e.get("LOCAL_STRIPE_PORT", "8420")
        endpoint = endpoint or f"http://127.0.0.1:{aws_port}"
        stripe_base = stripe_base or f"http://127.0.0.1:{stripe_port}"
        stripe_js = f"http://127.0.0.1:{stripe_port}/js.stripe.com/v3/"
        console = console or f"http://127.0.0.1:{e.get('PORT', '8000')}"
        vies = vies or f"http://127.0.0.1:{e.get('LOCAL_VIES_PORT', '8430')}"
    defaults = Settings()
    # the seller's identity has demo values on the local stage only; elsewhere it must be set
    seller_defaults = defaults if stage == "local" else _NO_SELLER
    if stage == "local":
        e = {**DEMO_SELLER, **e}
    return Settings(
        stage=stage,
        table_name=e.get("TABLE_NAME", defaults.table_name),
        aws_region=e.get("AWS_REGION", e.get("AWS_DEFAULT_REGION", defaults.aws_region)),
        aws_endpoint_url=endpoint,
        ses_sender=e.get("SES_SENDER", defaults.ses_sender),
        support_email=e.get("SUPPORT_EMAIL", defaults.support_email),
        console_url=console or defaults.console_url,
        vendor_name=e.get("VENDOR_NAME", seller_defaults.vendor_name),
        vendor_support_email=e.get("VENDOR_SUPPORT_EMAIL", defaults.vendor_support_email),
        vendor_vat_contact_email=e.get("VAT_CONTACT_EMAIL", defaults.vendor_vat_contact_email),
        vendor_vat_number=(e.get("VENDOR_VAT_NUMBER") or "").replace(" ", "") or None,
        vendor_country=e.get("VENDOR_COUNTRY", defaults.vendor_country),
        vendor_address_line1=e.get("VENDOR_ADDRESS_LINE1", seller_defaults.vendor_address_line1),
        vendor_city=e.get("VENDOR_CITY", seller_defaults.vendor_city),
        vendor_postal_code=e.get("VENDOR_POSTAL_CODE", seller_defaults.vendor_postal_code),
        vendor_siren=(e.get("VENDOR_SIREN") or "").replace(" ", "") or None,
        vendor_rcs_city=e.get("VENDOR_RCS_CITY") or None,
        vendor_legal_form=e.get("VENDOR_LEGAL_FORM") or None,
        vendor_share_capital=e.get("VENDOR_SHARE_CAPITAL") or None,
        stripe_secret_key=e.get("STRIPE_SECRET_KEY", defaults.stripe_secret_key),
        stripe_publishable_key=e.get("STRIPE_PUBLISHABLE_KEY", defaults.stripe_publishable_key),
        stripe_api_base=stripe_base,
        stripe_js_url=stripe_js,
        stripe_webhook_secret=e.get("STRIPE_WEBHOOK_SECRET", defaults.stripe_webhook_secret),
        support_key=e.get("SUPPORT_KEY", defaults.support_key),
        vies_url=vies or defaults.vies_url,
        vies_timeout_seconds=float(e.get("VIES_TIMEOUT_SECONDS", defaults.vies_timeout_seconds)),
        session_idle_seconds=int(e.get("SESSION_IDLE_SECONDS", defaults.session_idle_seconds)),
        session_absolute_seconds=int(
            e.get("SESSION_ABSOLUTE_SECONDS", defaults.session_absolute_seconds)
        ),
        queue_shards=int(e.get("QUEUE_SHARDS", defaults.queue_shards)),
        trial_days=int(e.get("TRIAL_DAYS", defaults.trial_days)),
        retry_queue_name=e.get("RETRY_QUEUE_NAME", defaults.retry_queue_name),
        retry_schedule_days=tuple(
            int(d) for d in e.get("RETRY_SCHEDULE_DAYS", "").split(",") if d.strip()
        )
        or defaults.retry_schedule_days,
        hard_decline_grace_days=int(
            e.get("HARD_DECLINE_GRACE_DAYS", defaults.hard_decline_grace_days)
        ),
        renewal_notice_days=int(e.get("RENEWAL_NOTICE_DAYS", defaults.renewal_notice_days)),
        stripe_request_budget=int(e.get("STRIPE_REQUEST_BUDGET", defaults.stripe_request_budget)),
        retry_consumer_concurrency=int(
            e.get("RETRY_CONSUMER_CONCURRENCY", defaults.retry_consumer_concurrency)
        ),
        outbox_stream=e.get("OUTBOX_STREAM", "0" if stage == "local" else "1") == "1",
        plans=_parse_plans(e.get("PLANS")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return settings_from_env()
