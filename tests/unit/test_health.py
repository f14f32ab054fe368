"""The health service over the in-memory fakes: each dependency pinged, fail closed."""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.services.health import HealthService
from chalicelib.services.ports import MailDeliveryError
from chalicelib.wiring import Container
from tests.unit.conftest import repo as repo_of


def test_all_up_is_ok(memory_box: Container) -> None:
    report = memory_box.health.check()
    assert report.healthy
    assert report.to_json() == {
        "status": "ok",
        "checks": {"dynamodb": "ok", "ses": "ok", "stripe": "ok"},
    }


def test_dynamodb_down_is_degraded(memory_box: Container) -> None:
    repo_of(memory_box).unavailable = True
    report = memory_box.health.check()
    assert not report.healthy
    assert report.to_json() == {
        "status": "degraded",
        "checks": {"dynamodb": "down", "ses": "ok", "stripe": "ok"},
    }


def test_mailer_and_gateway_down_are_reported_each(memory_box: Container) -> None:
    memory_box.mailer.fail_with = MailDeliveryError("Throttling", permanent=False)  # type: ignore[attr-defined]
    memory_box.gateway.unavailable = True  # type: ignore[attr-defined]
    assert memory_box.health.check().checks == {"dynamodb": "ok", "ses": "down", "stripe": "down"}


class Hanging:
    def __init__(self) -> None:
        self.release = threading.Event()

    def ping(self) -> None:
        self.release.wait(10)


def test_a_probe_that_does_not_answer_in_time_is_down(memory_box: Container) -> None:
    hanging = Hanging()
    service = HealthService({"dynamodb": lambda: memory_box.repo, "ses": lambda: hanging}, 0.2)
    try:
        assert service.check().checks == {"dynamodb": "ok", "ses": "down"}
    finally:
        hanging.release.set()


def test_a_provider_that_cannot_build_its_adapter_is_down() -> None:
    def broken() -> Any:
        raise RuntimeError("no configuration")

    assert HealthService({"stripe": broken}).check().checks == {"stripe": "down"}


def test_the_route_answers_503_when_one_is_down(memory_box: Container) -> None:
    from chalice.test import Client

    from app import app

    repo_of(memory_box).unavailable = True
    with Client(app) as client:
        answer = client.http.get("/health")
    assert answer.status_code == 503
    assert answer.json_body["checks"]["dynamodb"] == "down"
    assert answer.json_body["status"] == "degraded"
