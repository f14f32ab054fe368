"""Stripe's secret key and webhook secret from AWS Secrets Manager, read at run time, cached.

In AWS (``STAGE`` ``dev`` or ``prod``) neither key is in the code, the template or the
Lambda environment: the stack (``make package``) declares one secret per stage, named by
:func:`secret_name` (``helpdesk-accounts/<stage>/stripe``, or ``STRIPE_SECRET_ID``), whose
value the operator sets once to ``{"secret_key": "sk_live_...", "webhook_secret":
"whsec_..."}`` (README, "Runbook").  The functions' policy may read that secret and no other
(``.chalice/policy-<stage>.json``).

The hook is one line in :func:`chalicelib.wiring.container`: the process container is built
from ``with_stripe_secrets(get_settings())``.  Other stages (``local``, the tests) get their
settings back unchanged, so nothing local ever calls Secrets Manager.  A value is cached per
process for :data:`CACHE_SECONDS`; a missing, malformed or unreachable secret fails closed
with :class:`~chalicelib.domain.errors.DependencyUnavailable` (503, nothing changed).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.logs import log_error

APP_NAME = "helpdesk-accounts"
SECRET_STAGES = ("dev", "prod")
CACHE_SECONDS = 900.0


def secret_name(stage: str, env: dict[str, str] | None = None) -> str:
    """The Secrets Manager name of ``stage``'s Stripe secret."""
    e = os.environ if env is None else env
    return e.get("STRIPE_SECRET_ID") or f"{APP_NAME}/{stage}/stripe"


class StripeSecrets(Struct, frozen=True):
    secret_key: str
    webhook_secret: str

    def __repr__(self) -> str:  # never print the values
        return "StripeSecrets(secret_key=***, webhook_secret=***)"


def parse_secret(raw: str) -> StripeSecrets:
    """The keys in a secret's JSON value; ``ValueError`` when absent or not Stripe-shaped."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("the secret is not a JSON object")
    secret_key, webhook_secret = data.get("secret_key"), data.get("webhook_secret")
    if not isinstance(secret_key, str) or not secret_key.startswith(("sk_", "rk_")):
        raise ValueError("secret_key is missing or is not a Stripe secret key")
    if not isinstance(webhook_secret, str) or not webhook_secret.startswith("whsec_"):
        raise ValueError("webhook_secret is missing or is not a webhook signing secret")
    return StripeSecrets(secret_key, webhook_secret)


class SecretsManagerSource:
    """Reads one secret with ``GetSecretValue`` and keeps it for ``ttl`` seconds."""

    def __init__(
        self,
        settings: Settings,
        name: str,
        *,
        ttl: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._name = name
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, StripeSecrets] | None = None
        self._client: Any = None

    def _get_client(self) -> Any:
        if self._client is None:
            from chalicelib.adapters import aws

            self._client = aws.client(
                "secretsmanager",
                region=self._settings.aws_region,
                endpoint_url=self._settings.aws_endpoint_url,
                connect_timeout=2,
                read_timeout=5,
                max_attempts=3,
            )
        return self._client

    def get(self) -> StripeSecrets:
        """The current keys (from the cache while fresh)."""
        with self._lock:
            now = self._monotonic()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                answer = self._get_client().get_secret_value(SecretId=self._name)
                secrets = parse_secret(str(answer["SecretString"]))
            except (BotoCoreError, ClientError, KeyError, ValueError) as error:
                log_error("secrets.unavailable", secret=self._name, error=type(error).__name__)
                raise DependencyUnavailable() from None
            self._cached = (now, secrets)
            return secrets


_sources: dict[tuple[str, str | None, str], SecretsManagerSource] = {}


def _source(settings: Settings) -> SecretsManagerSource:
    key = (settings.aws_region, settings.aws_endpoint_url, secret_name(settings.stage))
    return _sources.setdefault(key, SecretsManagerSource(settings, key[2]))


def prefetch(settings: Settings, env: dict[str, str] | None = None) -> threading.Thread | None:
    """Start reading the stage's secret on a background thread (dev and prod stages, in
    Lambda only: ``AWS_LAMBDA_FUNCTION_NAME`` is set; ``chalice package`` and the CLI import
    the app with a stage's environment too, and must not call Secrets Manager).

    Called as the app is imported (``chalicelib.wiring``), so the Secrets Manager round trip
    overlaps the rest of the cold start instead of following it: the first request's
    :func:`with_stripe_secrets` then finds the value cached, or waits on the source's lock
    for the read in flight.  A failed read is forgotten here (logged by the source) and done
    again, with its 503, by the request."""
    e = os.environ if env is None else env
    if settings.stage not in SECRET_STAGES or not e.get("AWS_LAMBDA_FUNCTION_NAME"):
        return None
    source = _source(settings)

    def read() -> None:
        with contextlib.suppress(DependencyUnavailable):
            source.get()

    thread = threading.Thread(target=read, name="secrets-prefetch", daemon=True)
    thread.start()
    return thread


def with_stripe_secrets(settings: Settings, source: SecretsManagerSource | None = None) -> Settings:
    """``settings`` with the Stripe keys read from Secrets Manager (dev and prod stages only)."""
    if settings.stage not in SECRET_STAGES:
        return settings
    secrets = (source or _source(settings)).get()
    return replace(
        settings, stripe_secret_key=secrets.secret_key, stripe_webhook_secret=secrets.webhook_secret
    )
