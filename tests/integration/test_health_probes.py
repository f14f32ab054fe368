"""The real adapters' ``ping`` (``/health``): ok against the embedded servers, and a fast,
closed failure against a port where nothing listens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.dynamo.repository import DynamoRepository
from chalicelib.adapters.ses import SesMailer
from chalicelib.adapters.stripe_gateway import StripeGateway
from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.services.health import HealthService
from chalicelib.services.ports import MailDeliveryError
from devstack.stack import free_port


@pytest.fixture
def dead(settings: Settings) -> Iterator[Settings]:
    """Settings whose AWS and Stripe endpoints are a loopback port where nothing listens."""
    from chalicelib.adapters.dynamo.models import configure

    nowhere = f"http://127.0.0.1:{free_port()}"
    yield replace(settings, aws_endpoint_url=nowhere, stripe_api_base=nowhere)
    configure(settings)  # a DynamoRepository points every model at its endpoint


def test_every_probe_answers_against_the_embedded_servers(settings: Settings) -> None:
    service = HealthService(
        {
            "dynamodb": lambda: DynamoRepository(settings),
            "ses": lambda: SesMailer(settings),
            "stripe": lambda: StripeGateway(settings),
        }
    )
    assert service.check().to_json() == {
        "status": "ok",
        "checks": {"dynamodb": "ok", "ses": "ok", "stripe": "ok"},
    }


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (DynamoRepository, DependencyUnavailable),
        (SesMailer, MailDeliveryError),
        (StripeGateway, DependencyUnavailable),
    ],
)
def test_a_probe_fails_fast_when_its_server_is_gone(
    dead: Settings, build: Any, error: type[Exception]
) -> None:
    began = time.monotonic()
    with pytest.raises(error):
        build(dead).ping()
    assert time.monotonic() - began < 5


def test_health_is_degraded_when_dynamodb_is_gone(settings: Settings, dead: Settings) -> None:
    service = HealthService(
        {
            "dynamodb": lambda: DynamoRepository(dead),
            "ses": lambda: SesMailer(settings),
            "stripe": lambda: StripeGateway(settings),
        }
    )
    assert service.check().to_json() == {
        "status": "degraded",
        "checks": {"dynamodb": "down", "ses": "ok", "stripe": "ok"},
    }
