"""Shared fixtures.

* ``stack``: the embedded servers (moto for DynamoDB/SES/SQS, localstripe), started once per
  test session on free loopback ports, with the table created from the code's definition.
* ``settings``: settings pointing at that stack, over a table of the test module's own
  (created from the code's definition, deleted after the module): moto answers an index Query
  by scanning the table and copies the whole table for each transaction, so one table shared
  by the session made every later test slower (a relay test took 105 s instead of 9).
* ``clock``: a settable clock; ``box``: a container over the real adapters and that clock,
  installed as the process container (so routes use it); ``client``: Chalice's test client.
* ``memory_box``: a container over the in-memory repository and fakes (unit tests).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from msgspec.structs import replace

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.memory import InMemoryRepository, PlainHasher, RecordingMailer
from chalicelib.config import Settings, settings_from_env
from chalicelib.wiring import Container, build_container, override

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    from devstack.stack import start_stack

    embedded = start_stack()
    yield embedded
    embedded.stop()


@pytest.fixture(autouse=True, scope="module")
def _forget_moto_instances() -> Iterator[None]:
    """Keep the embedded moto's /moto-api/data.json fast (see tests/moto_tracking.py)."""
    yield
    from tests.moto_tracking import forget_dynamodb_instances

    forget_dynamodb_instances()


@pytest.fixture(scope="session")
def stack_settings(stack: Any) -> Settings:
    """Settings pointing at the stack and its own table (as another process sees it)."""
    return settings_from_env({**os.environ, **stack.environment})


@contextmanager
def own_table(base: Settings, label: str = "") -> Iterator[Settings]:
    """``base`` over a new table of its own (created from the code's definition), deleted
    when the block ends."""
    from chalicelib.adapters.dynamo.models import TableItem, configure, create_table

    name = "-".join(part for part in (base.table_name, label, uuid.uuid4().hex[:8]) if part)
    own = replace(base, table_name=name)
    create_table(own)
    try:
        yield own
    finally:
        configure(own)
        TableItem.delete_table()


@pytest.fixture(scope="module")
def settings(stack_settings: Settings) -> Iterator[Settings]:
    with own_table(stack_settings) as own:
        yield own


def process_environment(stack: Any, settings: Settings) -> dict[str, str]:
    """The environment of another process serving over the stack and this module's table."""
    return {**os.environ, **stack.environment, "TABLE_NAME": settings.table_name}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def box(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    """The real adapters over the embedded stack, with a settable clock."""
    container = build_container(settings, clock=clock)
    override(container)
    yield container
    override(None)


def memory_container(clock: FixedClock) -> Container:
    """Services over in-memory fakes (no I/O): a new repository, mailer and fake gateway."""
    from chalicelib.adapters.fake_payments import FakePaymentGateway

    return build_container(
        Settings(),
        repo=InMemoryRepository(),
        mailer=RecordingMailer(),
        hasher=PlainHasher(),
        clock=clock,
        gateway=FakePaymentGateway(),
    )


@pytest.fixture
def memory_box(clock: FixedClock) -> Iterator[Container]:
    """Services over in-memory fakes (no I/O), installed as the process container."""
    container = memory_container(clock)
    override(container)
    yield container
    override(None)


@pytest.fixture(scope="session")
def chalice_app() -> Any:
    from app import app

    return app


@pytest.fixture
def client(box: Container, chalice_app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Chalice's test client.  Each test signs in from its own source address (chalice's local
    gateway says 127.0.0.1 for everyone), so the per-address sign-in throttle of one test
    never answers another test's requests."""
    import random

    from chalice.local import LambdaEventConverter
    from chalice.test import Client

    address = ".".join(str(random.randint(1, 254)) for _ in range(3))
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", f"10.{address}")
    with Client(chalice_app) as test_client:
        yield test_client


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
