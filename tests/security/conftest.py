"""The security suite's fixtures.

Importing this file (pytest does while collecting, before any test runs) starts recording
the AWS calls the service makes, so that ``test_policy.py``'s last test sees every call of
the whole run; that test is moved to the end of the session.

``journey`` walks the whole service once per session (``flow.py``) and keeps what it logged
and which AWS calls it made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.dynamo.models import configure
from chalicelib.wiring import build_container, override
from tests.conftest import own_table
from tests.helpers import Api
from tests.moto_tracking import forget_dynamodb_instances
from tests.security.aws_calls import RECORDER, Call
from tests.security.flow import Journey, run_journey

RECORDER.install()

LAST = "test_every_call_the_suite_made_is_granted"


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.name == LAST]
    if last:
        items[:] = [item for item in items if item.name != LAST] + last


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture(scope="module", autouse=True)
def _forget_tracked_dynamodb_instances() -> Iterator[None]:
    yield
    forget_dynamodb_instances()


class Capture(logging.Handler):
    """Every record logged anywhere, formatted as a handler would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@dataclass
class JourneyResult:
    journey: Journey
    capture: Capture
    calls: list[Call]
    settings: Any


@pytest.fixture(scope="session")
def journey(stack_settings: Any, chalice_app: Any) -> Iterator[JourneyResult]:
    from chalice.test import Client

    # Its own table, so that its jobs work on its items only (not on other tests' leftovers).
    with own_table(stack_settings, "journey") as own:
        box = build_container(own, clock=FixedClock(datetime.now(UTC).replace(microsecond=0)))
        capture = Capture()
        root = logging.getLogger()
        helpdesk = logging.getLogger("helpdesk")
        previous = root.level
        root.addHandler(capture)
        root.setLevel(logging.INFO)
        mark = RECORDER.mark()
        override(box)
        try:
            with Client(chalice_app) as client:
                result = run_journey(Api(client), box)
        finally:
            override(None)
            configure(stack_settings)  # the models point at the shared table again
            root.removeHandler(capture)
            root.setLevel(previous)
        assert helpdesk.propagate
        yield JourneyResult(result, capture, RECORDER.since(mark), own)
