"""The fuzz suite writes thousands of items: forget moto's tracked copies afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.moto_tracking import forget_dynamodb_instances


@pytest.fixture(scope="module", autouse=True)
def _forget_tracked_dynamodb_instances() -> Iterator[None]:
    yield
    forget_dynamodb_instances()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.fuzz import test_openapi_fuzz

    for line in test_openapi_fuzz.summary():
        terminalreporter.write_line(line)
