"""The Stripe keys from Secrets Manager (dev/prod): read at run time, cached, failing closed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from msgspec.structs import replace

from chalicelib.adapters.secrets import (
    SecretsManagerSource,
    parse_secret,
    secret_name,
    with_stripe_secrets,
)
from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailable

VALUE = {"secret_key": "sk_test_from_secrets_manager", "webhook_secret": "whsec_from_sm"}


def put_secret(settings: Settings, value: Any) -> str:
    name = f"helpdesk-accounts/test-{uuid.uuid4().hex[:8]}/stripe"
    client = boto3.client(
        "secretsmanager", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    client.create_secret(Name=name, SecretString=json.dumps(value))
    return name


def test_local_settings_are_left_alone_and_never_call_aws(settings: Settings) -> None:
    class Exploding(SecretsManagerSource):
        def get(self) -> Any:
            raise AssertionError("called")

    assert with_stripe_secrets(settings, Exploding(settings, "x")) is settings


def test_dev_and_prod_read_the_keys_and_cache_them(settings: Settings) -> None:
    name = put_secret(settings, VALUE)
    now = [0.0]
    source = SecretsManagerSource(settings, name, ttl=60, monotonic=lambda: now[0])
    for stage in ("dev", "prod"):
        resolved = with_stripe_secrets(replace(settings, stage=stage), source)
        assert resolved.stripe_secret_key == VALUE["secret_key"]
        assert resolved.stripe_webhook_secret == VALUE["webhook_secret"]
        assert resolved.table_name == settings.table_name
    calls = []
    original = source._get_client

    def counting() -> Any:
        calls.append(1)
        return original()

    source._get_client = counting  # type: ignore[method-assign]
    source.get()
    assert calls == []  # cached
    now[0] = 61
    source.get()
    assert calls == [1]  # refreshed after the TTL
    assert "sk_test" not in repr(source.get())


@pytest.mark.parametrize(
    "value",
    [
        {"secret_key": "", "webhook_secret": "whsec_x"},
        {"secret_key": "pk_test_x", "webhook_secret": "whsec_x"},
        {"secret_key": "sk_test_x"},
        ["sk_test_x"],
    ],
)
def test_a_malformed_secret_fails_closed(settings: Settings, value: Any) -> None:
    name = put_secret(settings, value)
    with pytest.raises(DependencyUnavailable):
        SecretsManagerSource(settings, name).get()


def test_a_missing_secret_or_an_unreachable_service_fails_closed(settings: Settings) -> None:
    with pytest.raises(DependencyUnavailable):
        SecretsManagerSource(settings, "helpdesk-accounts/nowhere/stripe").get()
    unreachable = replace(settings, aws_endpoint_url="http://127.0.0.1:9")
    with pytest.raises(DependencyUnavailable):
        SecretsManagerSource(unreachable, "x").get()


def test_the_secret_is_named_per_stage() -> None:
    assert secret_name("prod", {}) == "helpdesk-accounts/prod/stripe"
    assert secret_name("dev", {"STRIPE_SECRET_ID": "custom"}) == "custom"
    with pytest.raises(ValueError):
        parse_secret("not json")


def test_prefetch_reads_the_secret_once_in_lambda_and_the_request_finds_it_cached(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters import secrets

    name = put_secret(settings, VALUE)
    monkeypatch.setenv("STRIPE_SECRET_ID", name)
    monkeypatch.setattr(secrets, "_sources", {})
    dev = replace(settings, stage="dev")
    reads: list[str] = []
    original = SecretsManagerSource._get_client

    def counting(self: SecretsManagerSource) -> Any:
        client = original(self)
        reads.append(self._name)
        return client

    monkeypatch.setattr(SecretsManagerSource, "_get_client", counting)
    assert secrets.prefetch(dev, {}) is None  # not in Lambda (chalice package, the CLI)
    assert secrets.prefetch(settings, {"AWS_LAMBDA_FUNCTION_NAME": "f"}) is None  # local
    thread = secrets.prefetch(dev, {"AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert thread is not None
    thread.join(10)
    assert reads == [name]
    resolved = with_stripe_secrets(dev)
    assert resolved.stripe_secret_key == VALUE["secret_key"]
    assert reads == [name]  # the request's read came from the cache


def test_a_failed_prefetch_leaves_the_request_to_fail_closed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters import secrets

    monkeypatch.setenv("STRIPE_SECRET_ID", f"helpdesk-accounts/missing-{uuid.uuid4().hex}")
    monkeypatch.setattr(secrets, "_sources", {})
    dev = replace(settings, stage="dev")
    thread = secrets.prefetch(dev, {"AWS_LAMBDA_FUNCTION_NAME": "f"})
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(DependencyUnavailable):
        with_stripe_secrets(dev)
