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
    import sys

    for name in ("tests.fuzz.test_openapi_fuzz", "tests.fuzz.test_openapi_over_http"):
        module = sys.modules.get(name)  # only the suites that ran
        for line in module.summary() if module else []:
            terminalreporter.write_line(line)
