"""The local stage's test clock: its routes over the real adapters (the frozen time is an item
in the embedded DynamoDB table), seen by another process's container, by ``run_job`` and by the
CLI; and absent (404) with the dev and prod settings, whatever else the environment says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.clock import SystemClock, TestClock
from chalicelib.adapters.memory import InMemoryRepository, PlainHasher, RecordingMailer
from chalicelib.config import Settings, settings_from_env
from chalicelib.domain.account import TRIAL_NOTICE_DAYS
from chalicelib.domain.ids import parse_iso, utc_iso
from chalicelib.jobs.run import run_job
from chalicelib.wiring import Container, build_container, override, uses_test_clock
from tests.conftest import process_environment, unique_email
from tests.helpers import PASSWORD, Api

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def local_box(settings: Settings) -> Iterator[Container]:
    """The process container as ``chalice local`` builds it: no clock given, so the test clock."""
    assert settings.stage == "local"
    box = build_container(settings)
    assert isinstance(box.clock, TestClock) and box.test_clock is box.clock
    override(box)
    try:
        yield box
    finally:
        box.test_clock.release()  # the table is shared by the whole test session
        override(None)


@pytest.fixture
def api(local_box: Container, chalice_app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    import random

    from chalice.local import LambdaEventConverter
    from chalice.test import Client

    address = ".".join(str(random.randint(1, 254)) for _ in range(3))
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", f"10.{address}")
    with Client(chalice_app) as client:
        yield Api(client)


def other_process(settings: Settings) -> Container:
    """What another process (the devstack's scheduler, a CLI command) builds: its own
    repository and its own test clock with an empty cache."""
    return build_container(settings)


def test_the_clock_follows_real_time_until_frozen_then_again_after_delete(
    api: Api, settings: Settings
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    answer = api.call("GET", "/_test/clock")
    assert answer.status == 200 and answer.json["frozen"] is False
    assert before <= parse_iso(answer.json["now"]) <= datetime.now(UTC) + timedelta(seconds=1)

    answer = api.call("PUT", "/_test/clock", {"now": "2027-03-15T10:30:00+01:00"})
    assert answer.status == 200
    assert answer.json == {"now": "2027-03-15T09:30:00Z", "frozen": True}
    assert api.call("GET", "/_test/clock").json == {"now": "2027-03-15T09:30:00Z", "frozen": True}
    assert other_process(settings).clock.now() == datetime(2027, 3, 15, 9, 30, tzinfo=UTC)

    answer = api.call("DELETE", "/_test/clock")
    assert answer.status == 200 and answer.json["frozen"] is False
    assert parse_iso(answer.json["now"]) >= before
    assert other_process(settings).clock.now() > before
    assert other_process(settings).test_clock.frozen_at() is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"now": "tomorrow"}, "validation_error", "now"),
        ({"now": 1767225600}, "validation_error", "now"),
        ({}, "validation_error", "now"),
        ({"now": "2027-01-01T00:00:00Z", "speed": 2}, "unknown_field", "speed"),
    ],
)
def test_bad_times_are_refused_and_change_nothing(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    answer = api.call("PUT", "/_test/clock", body)
    assert answer.status == 400, answer.json
    assert answer.json["error"]["code"] == code and field in answer.json["error"]["fields"]
    assert api.call("GET", "/_test/clock").json["frozen"] is False


def test_a_pinned_container_has_no_test_clock_to_set(box: Container, chalice_app: Any) -> None:
    from chalice.test import Client

    with Client(chalice_app) as client:
        answer = Api(client).call("PUT", "/_test/clock", {"now": "2027-01-01T00:00:00Z"})
    assert answer.status == 404 and answer.error_code == "not_found"


def test_jobs_run_by_another_process_and_the_cli_see_the_time_the_api_set(
    api: Api, settings: Settings, stack: Any
) -> None:
    # Far in the past, so that no other test's trial is due at these times.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=90)
    assert api.call("PUT", "/_test/clock", {"now": utc_iso(start)}).status == 200
    email = unique_email("clock")
    _, account = api.signup(email=email)
    assert parse_iso(account["trial_ends_at"]) == start + timedelta(days=settings.trial_days)
    ends = parse_iso(account["trial_ends_at"])

    # The CLI (another process) runs the trials job at the frozen time: the notice goes out.
    notice_at = ends - timedelta(days=TRIAL_NOTICE_DAYS)
    assert api.call("PUT", "/_test/clock", {"now": utc_iso(notice_at)}).status == 200
    env = {**process_environment(stack, settings), "STAGE": "local"}
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "run-job", "trials"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])["notified"] >= 1
    noticed = other_process(settings).repo.get_account(account["id"])
    assert noticed is not None and noticed.trial_notice_for == ends

    # The job runner over another process's container (built as the scheduler's), no --now.
    assert api.call("PUT", "/_test/clock", {"now": utc_iso(ends)}).status == 200
    assert run_job("trials", box=other_process(settings))["expired"] >= 1
    signed_in = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert signed_in.status == 200
    assert signed_in.json["account"]["status"] == "trial_expired"
    assert signed_in.json["notice"]["code"] == "trial_expired"
    # ... and ``--now`` still pins one run, whatever the test clock says
    assert run_job("trials", ends + timedelta(days=1), box=other_process(settings)) == {
        "notified": 0,
        "expired": 0,
        "skipped": 0,
    }


# --- absent outside the local stage --------------------------------------------------------------
SNEAKY = {
    "TEST_CLOCK": "1",
    "ENABLE_TEST_CLOCK": "true",
    "TEST_CLOCK_ENABLED": "true",
    "LOCAL": "1",
    "DEBUG": "1",
}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_setting_turns_the_test_clock_on_outside_local(stage: str) -> None:
    settings = settings_from_env({"STAGE": stage, **SNEAKY})
    assert not uses_test_clock(settings)
    box = build_container(
        settings, repo=InMemoryRepository(), mailer=RecordingMailer(), hasher=PlainHasher()
    )
    assert isinstance(box.clock, SystemClock) and box.test_clock is None


PROBE = """
import json
from chalice.test import Client
from app import app
from chalicelib.api.http import ROUTES

answers = {}
with Client(app) as client:
    for method in ("GET", "PUT", "DELETE"):
        r = client.http.request(method, "/_test/clock", headers={"Content-Type": "text/json"},
                                body=json.dumps({"now": "2027-01-01T00:00:00Z"}))
        answers[method] = [r.status_code, json.loads(r.body)["error"]["code"]]
    doc = json.loads(client.http.get("/openapi.json").body)
print(json.dumps({
    "answers": answers,
    "routes": [s.path for s in ROUTES if s.path.startswith("/_test")],
    "documented": [p for p in doc["paths"] if p.startswith("/_test")],
}))
"""


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_routes_do_not_exist_with_dev_and_prod_settings(stage: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_", "AWS_ENDPOINT"))}
    env.update(SNEAKY, STAGE=stage, AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "answers": {m: [404, "not_found"] for m in ("GET", "PUT", "DELETE")},
        "routes": [],
        "documented": [],
    }


def test_the_routes_exist_on_the_local_stage(chalice_app: Any) -> None:
    from chalicelib.api.http import ROUTES

    assert {(s.method, s.path) for s in ROUTES if s.path == "/_test/clock"} == {
        ("GET", "/_test/clock"),
        ("PUT", "/_test/clock"),
        ("DELETE", "/_test/clock"),
    }
    assert "/_test/clock" in chalice_app.routes


PACKAGE = """
import sys
from pathlib import Path
from infra.build_resources import render_template
print("/_test" in render_template(sys.argv[1], Path(sys.argv[2])).read_text())
"""


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_packaged_api_has_no_test_clock(stage: str, tmp_path: Path) -> None:
    """What ``chalice package --stage <stage>`` builds (a fresh process importing ``app.py``
    with the stage's environment) declares no ``/_test`` path in API Gateway."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCAL_", "AWS_ENDPOINT"))}
    env.update(SNEAKY, STAGE=stage, AWS_DEFAULT_REGION="us-east-1")
    done = subprocess.run(
        [sys.executable, "-c", PACKAGE, stage, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "False"
