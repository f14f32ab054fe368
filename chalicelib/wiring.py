"""The composition root: builds settings, adapters and services once, lazily.

Routes and jobs call :func:`container`; tests call :func:`override` with a container built by
:func:`build_container` over fakes or over the embedded servers.  Nothing else constructs
adapters.  The container is typed by the ports (``services/ports.py``,
``services/payment_ports.py``, ``services/vat_ports.py``), never by an adapter class, and
holds one name per adapter.

The clock is chosen here too: on the local stage (and only there: :func:`uses_test_clock`
is the one place that decides, for the clock and for the ``/_test/clock`` routes) the
container's clock is the shared :class:`~chalicelib.adapters.clock.TestClock`, elsewhere the
system clock.  :meth:`Container.with_clock` gives the same adapters with a pinned clock
(``run-job --now``, seeding months of history).  So is the charge queue of the retry job:
SQS in AWS, an in-process worker pool on the local stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings, get_settings, require_seller_identity

if TYPE_CHECKING:
    from chalicelib.adapters.clock import TestClock
    from chalicelib.services.account_security import AccountSecurityService
    from chalicelib.services.auth import AuthService
    from chalicelib.services.billing import BillingService
    from chalicelib.services.cards import CardService
    from chalicelib.services.catalog import PlanCatalog
    from chalicelib.services.credit_notes import CreditNoteService
    from chalicelib.services.documents import DocumentService
    from chalicelib.services.dunning import DunningService
    from chalicelib.services.health import HealthService
    from chalicelib.services.lifecycle import LifecycleService
    from chalicelib.services.outbox import OutboxRelay
    from chalicelib.services.payment_ports import PaymentGateway
    from chalicelib.services.ports import (
        ChargeQueue,
        Clock,
        DocumentRenderer,
        Mailer,
        PasswordHasher,
        Repository,
    )
    from chalicelib.services.profile import ProfileService
    from chalicelib.services.reminders import ReminderService
    from chalicelib.services.settlement import Settlement
    from chalicelib.services.subscription import SubscriptionService
    from chalicelib.services.trials import TrialService
    from chalicelib.services.vat import VatService
    from chalicelib.services.vat_ports import VatChecker
    from chalicelib.services.webhooks import WebhookService


@dataclass
class Container:
    """Everything a request or a job needs: the adapters, and the services built on first
    use over them."""

    settings: Settings
    repo: Repository
    mailer: Mailer
    hasher: PasswordHasher
    clock: Clock
    # the payment gateway and the VAT registry are built on first use (cold start: a sign-in
    # never loads them); these make them, read them as ``gateway`` and ``vies``
    make_gateway: Callable[[], PaymentGateway]
    make_vies: Callable[[Clock], VatChecker]  # the VIES client stamps answers with its clock
    test_clock: TestClock | None = None  # the clock, when it is the local stage's test clock

    @cached_property
    def gateway(self) -> PaymentGateway:
        """The payment gateway: Stripe unless replaced."""
        return self.make_gateway()

    @cached_property
    def vies(self) -> VatChecker:
        """The VAT registry: VIES unless replaced."""
        return self.make_vies(self.clock)

    def with_clock(self, clock: Clock | datetime) -> Container:
        """The same adapters with ``clock`` (a time pins a fixed clock: ``run-job --now``,
        seeding history); its services are built anew over them, and the VIES client with
        that clock (a replaced registry is kept as it is)."""
        from chalicelib.adapters.clock import FixedClock

        if isinstance(clock, datetime):
            clock = FixedClock(clock)
        return replace(self, clock=clock, test_clock=None, make_gateway=lambda: self.gateway)

    @cached_property
    def charge_queue(self) -> ChargeQueue:
        """Where the retry job hands due charges: SQS in AWS; on the local stage (``chalice
        local``, tests) a pool of this container's workers."""
        if self.settings.stage == "local":
            from chalicelib.services.dunning import InProcessDispatcher

            return InProcessDispatcher(self.dunning, self.settings.retry_consumer_concurrency)
        from chalicelib.adapters.sqs import SqsChargeQueue

        return SqsChargeQueue(self.settings)

    @cached_property
    def vat(self) -> VatService:
        from chalicelib.services.vat import VatService

        return VatService(self.repo, lambda: self.vies, self.clock)

    @cached_property
    def settlement(self) -> Settlement:
        """The one owner of what a payment's outcome does (every money path uses it)."""
        from chalicelib.services.rate_limit import TokenBucket
        from chalicelib.services.settlement import Settlement

        s = self.settings
        # Locally one process runs every worker: one bucket holds the whole budget.  In AWS each
        # of the (at most retry_consumer_concurrency) SQS consumers gets its share.
        share = 1 if s.stage == "local" else max(1, s.retry_consumer_concurrency)
        limiter = TokenBucket(max(1.0, s.stripe_request_budget / share - 1))
        return Settlement(self.repo, lambda: self.gateway, self.clock, s, limiter=limiter)

    @cached_property
    def dunning(self) -> DunningService:
        from chalicelib.services.dunning import DunningService

        return DunningService(
            self.repo,
            lambda: self.gateway,
            self.clock,
            self.settings,
            settlement=self.settlement,
            billing=self.billing,
        )

    @cached_property
    def webhooks(self) -> WebhookService:
        from chalicelib.adapters.stripe_gateway import StripeEvents
        from chalicelib.services.webhooks import WebhookService

        events = StripeEvents(self.settings.stripe_webhook_secret)
        return WebhookService(self.repo, self.dunning, events, credit_notes=self.credit_notes)

    @cached_property
    def credit_notes(self) -> CreditNoteService:
        from chalicelib.services.credit_notes import CreditNoteService

        return CreditNoteService(self.repo, lambda: self.gateway, self.clock, self.settings)

    @cached_property
    def renderer(self) -> DocumentRenderer:
        """The PDF renderer (fpdf2 and lxml load when it first draws)."""
        from chalicelib.documents.render import FacturXRenderer

        return FacturXRenderer()

    @cached_property
    def documents(self) -> DocumentService:
        """Invoice and credit-note PDFs, stored once rendered (``services.documents``)."""
        from chalicelib.services.documents import DocumentService

        return DocumentService(self.repo, lambda: self.renderer, self.clock)

    @cached_property
    def billing(self) -> BillingService:
        from chalicelib.services.billing import BillingService

        return BillingService(
            self.repo,
            lambda: self.gateway,
            self.clock,
            self.settings,
            self.settlement,
            retry_now=lambda: self.dunning.retry_now,
        )

    @cached_property
    def cards(self) -> CardService:
        from chalicelib.services.cards import CardService

        return CardService(self.repo, lambda: self.gateway, self.clock, self.billing)

    @cached_property
    def subscription(self) -> SubscriptionService:
        from chalicelib.services.subscription import SubscriptionService

        return SubscriptionService(
            self.repo,
            lambda: self.gateway,
            self.clock,
            self.settings,
            self.billing,
            self.settlement,
        )

    @cached_property
    def catalog(self) -> PlanCatalog:
        from chalicelib.services.catalog import PlanCatalog

        return PlanCatalog(self.settings, self.clock, self.auth)

    @cached_property
    def auth(self) -> AuthService:
        from chalicelib.services.auth import AuthService

        return AuthService(self.repo, self.hasher, self.clock, self.settings)

    @cached_property
    def profile(self) -> ProfileService:
        from chalicelib.services.profile import ProfileService

        return ProfileService(self.repo, self.hasher, self.clock, self.settings, self.auth)

    @cached_property
    def security(self) -> AccountSecurityService:
        from chalicelib.services.account_security import AccountSecurityService

        return AccountSecurityService(self.repo, self.hasher, self.clock, self.settings, self.auth)

    @cached_property
    def lifecycle(self) -> LifecycleService:
        from chalicelib.services.lifecycle import LifecycleService

        return LifecycleService(self.repo, self.hasher, self.clock, self.settings, self.auth)

    @cached_property
    def trials(self) -> TrialService:
        from chalicelib.services.trials import TrialService

        return TrialService(self.repo, self.clock, self.settings)

    @cached_property
    def reminders(self) -> ReminderService:
        from chalicelib.services.reminders import ReminderService

        return ReminderService(self.repo, self.billing, self.clock, self.settings)

    @cached_property
    def health(self) -> HealthService:
        """``/health``: the table, the mailer and the payment gateway, each pinged."""
        from chalicelib.services.health import HealthService

        return HealthService(
            {
                "dynamodb": lambda: self.repo,
                "ses": lambda: self.mailer,
                "stripe": lambda: self.gateway,
            }
        )

    @cached_property
    def outbox_relay(self) -> OutboxRelay:
        from chalicelib.services.outbox import OutboxRelay

        return OutboxRelay(self.repo, self.mailer, self.clock, self.settings)


def build_container(
    settings: Settings,
    *,
    repo: Repository | None = None,
    mailer: Mailer | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
    gateway: PaymentGateway | None = None,
    vies: VatChecker | None = None,
) -> Container:
    """A container over the real adapters, with any of them replaced."""
    if repo is None:
        from chalicelib.adapters.dynamo.repository import DynamoRepository

        repo = DynamoRepository(settings)
    if mailer is None:
        from chalicelib.adapters.ses import SesMailer

        mailer = SesMailer(settings)
    if hasher is None:
        from chalicelib.adapters.passwords import Argon2Hasher

        hasher = Argon2Hasher()
    test_clock = None
    if clock is None:
        from chalicelib.adapters.clock import SystemClock, TestClock

        if uses_test_clock(settings):
            clock = test_clock = TestClock(repo)
        else:
            clock = SystemClock()
    return Container(
        settings=settings,
        repo=repo,
        mailer=mailer,
        hasher=hasher,
        clock=clock,
        make_gateway=(lambda: gateway) if gateway is not None else lambda: _stripe(settings),
        make_vies=(lambda _: vies) if vies is not None else lambda c: _vies(settings, c),
        test_clock=test_clock,
    )


def _stripe(settings: Settings) -> PaymentGateway:
    from chalicelib.adapters.stripe_gateway import StripeGateway

    return StripeGateway(settings)


def _vies(settings: Settings, clock: Clock) -> VatChecker:
    from chalicelib.adapters.vies import ViesClient

    return ViesClient(settings, clock=clock)


def uses_test_clock(settings: Settings) -> bool:
    """Whether the test clock exists: on the local stage only, whatever else is configured."""
    return settings.stage == "local"


_container: Container | None = None


def container() -> Container:
    """The process-wide container (built from the environment on first use)."""
    global _container
    if _container is None:
        # dev/prod: the Stripe keys come from Secrets Manager (adapters/secrets.py)
        from chalicelib.adapters.secrets import with_stripe_secrets

        settings = get_settings()
        # dev/prod refuse to run without the seller's identity (its numbers are checked where
        # an invoice takes them: python-stdnum stays off every route's cold start)
        require_seller_identity(settings, numbers=False)
        _container = build_container(with_stripe_secrets(settings))
    return _container


def override(replacement: Container | None) -> None:
    """Replace the process-wide container (tests); ``None`` rebuilds it on next use."""
    global _container
    _container = replacement
