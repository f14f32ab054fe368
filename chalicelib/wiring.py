"""The composition root: builds settings, adapters and services once, lazily.

Routes and jobs call :func:`container`; tests call :func:`override` with a container built by
:func:`build_container` over fakes or over the embedded servers.  Nothing else constructs
adapters.

The clock is chosen here too: on the local stage (and only there: :func:`uses_test_clock`
is the one place that decides, for the clock and for the ``/_test/clock`` routes) the
container's clock is the shared :class:`~chalicelib.adapters.clock.TestClock`, elsewhere the
system clock.  :func:`with_clock` gives the same adapters with a pinned clock
(``run-job --now``, seeding months of history).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings, get_settings, require_seller_identity

if TYPE_CHECKING:
    from chalicelib.adapters.clock import TestClock
    from chalicelib.adapters.dynamo.repository import DynamoRepository
    from chalicelib.adapters.memory import InMemoryRepository
    from chalicelib.services.account_security import AccountSecurityService
    from chalicelib.services.auth import AuthService
    from chalicelib.services.billing import BillingService
    from chalicelib.services.dunning import DunningService
    from chalicelib.services.health import HealthService
    from chalicelib.services.lifecycle import LifecycleService
    from chalicelib.services.outbox import OutboxRelay
    from chalicelib.services.payment_ports import PaymentGateway
    from chalicelib.services.ports import Clock, Mailer, PasswordHasher
    from chalicelib.services.profile import ProfileService
    from chalicelib.services.settlement import Settlement
    from chalicelib.services.subscription import SubscriptionService
    from chalicelib.services.trials import TrialService
    from chalicelib.services.vat import VatService
    from chalicelib.services.vat_ports import VatChecker
    from chalicelib.services.webhooks import WebhookService


@dataclass
class Container:
    """Everything a request or a job needs, built on first use."""

    settings: Settings
    repo: DynamoRepository | InMemoryRepository
    mailer: Mailer
    hasher: PasswordHasher
    clock: Clock
    payment_gateway: PaymentGateway | None = None
    vat_checker: VatChecker | None = None
    test_clock: TestClock | None = None  # the clock, when it is the local stage's test clock

    @cached_property
    def vies(self) -> VatChecker:
        """The VAT registry (VIES unless replaced), built on first use."""
        if self.vat_checker is None:
            from chalicelib.adapters.vies import ViesClient

            self.vat_checker = ViesClient(self.settings, clock=self.clock)
        return self.vat_checker

    @cached_property
    def vat(self) -> VatService:
        from chalicelib.services.vat import VatService

        return VatService(self.repo, lambda: self.vies, self.clock)

    @cached_property
    def gateway(self) -> PaymentGateway:
        """The payment gateway (Stripe unless replaced), built on first use."""
        if self.payment_gateway is None:
            from chalicelib.adapters.stripe_gateway import StripeGateway

            self.payment_gateway = StripeGateway(self.settings)
        return self.payment_gateway

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
        from chalicelib.adapters.stripe_gateway import event_from_payload
        from chalicelib.services.webhooks import WebhookService

        return WebhookService(self.repo, self.dunning, event_from_payload)

    @cached_property
    def billing(self) -> BillingService:
        from chalicelib.services.billing import BillingService

        return BillingService(
            self.repo, lambda: self.gateway, self.clock, self.settings, self.settlement
        )

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
    repo: DynamoRepository | InMemoryRepository | None = None,
    mailer: Mailer | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
    gateway: PaymentGateway | None = None,
    vat_checker: VatChecker | None = None,
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
        payment_gateway=gateway,
        vat_checker=vat_checker,
        test_clock=test_clock,
    )


def uses_test_clock(settings: Settings) -> bool:
    """Whether the test clock exists: on the local stage only, whatever else is configured."""
    return settings.stage == "local"


def with_clock(box: Container, clock: Clock) -> Container:
    """The same adapters as ``box`` with ``clock`` (``run-job --now``, seeding history)."""
    return build_container(
        box.settings,
        repo=box.repo,
        mailer=box.mailer,
        hasher=box.hasher,
        clock=clock,
        gateway=box.payment_gateway,
        vat_checker=box.vat_checker,
    )


_container: Container | None = None


def container() -> Container:
    """The process-wide container (built from the environment on first use)."""
    global _container
    if _container is None:
        # dev/prod: the Stripe keys come from Secrets Manager (adapters/secrets.py)
        from chalicelib.adapters.secrets import with_stripe_secrets

        settings = get_settings()
        require_seller_identity(settings)  # dev/prod refuse to run without the seller's identity
        _container = build_container(with_stripe_secrets(settings))
    return _container


def override(replacement: Container | None) -> None:
    """Replace the process-wide container (tests); ``None`` rebuilds it on next use."""
    global _container
    _container = replacement
