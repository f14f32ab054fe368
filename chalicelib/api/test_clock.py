"""The local stage's test clock (API.md v2 "Statuses and time"), like Stripe's test clocks.

``PUT /_test/clock {"now"}`` freezes the time the whole local stack uses (API, jobs, CLI),
``DELETE /_test/clock`` gives real time back, ``GET /_test/clock`` says ``{"now", "frozen"}``.
How the three processes share it: ``chalicelib.adapters.clock``.

This module is imported, and its blueprint registered, only when
``wiring.uses_test_clock(settings)`` (the local stage): elsewhere the routes do not exist
(404 from the fallbacks) and are not in ``/openapi.json``.  A container whose clock was pinned
(a test's ``FixedClock``) has no test clock: the routes then answer 404 too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.adapters.clock import TestClock
from chalicelib.api.http import RequestContext, endpoint
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.ids import parse_iso, utc_iso
from chalicelib.wiring import container

if TYPE_CHECKING:
    from chalicelib.api import schemas

bp = Blueprint(__name__)
PATH = "/_test/clock"


def _clock() -> TestClock:
    clock = container().test_clock
    if clock is None:
        raise NotFound()
    return clock


def _state(clock: TestClock) -> dict[str, Any]:
    return {"now": utc_iso(clock.now()), "frozen": clock.frozen_at() is not None}


@endpoint(
    bp,
    PATH,
    "GET",
    tag="test-clock",
    summary="The local stack's time and whether it is frozen (local stage only)",
    auth=False,
    response="TestClockResponse",
    errors=(404,),
)
def get_clock(ctx: RequestContext) -> dict[str, Any]:
    return _state(_clock())


@endpoint(
    bp,
    PATH,
    "PUT",
    tag="test-clock",
    summary="Freeze the local stack's time (API, jobs, CLI) at `now` (local stage only)",
    auth=False,
    body="TestClockRequest",
    response="TestClockResponse",
    errors=(404,),
)
def put_clock(ctx: RequestContext, body: schemas.TestClockRequest) -> dict[str, Any]:
    clock = _clock()
    try:
        at = parse_iso(body.now)
    except ValueError:
        raise InvalidInput(fields={"now": "invalid_time"}) from None
    clock.freeze(at)
    return _state(clock)


@endpoint(
    bp,
    PATH,
    "DELETE",
    tag="test-clock",
    summary="Back to real time (local stage only)",
    auth=False,
    response="TestClockResponse",
    errors=(404,),
)
def delete_clock(ctx: RequestContext) -> dict[str, Any]:
    clock = _clock()
    clock.release()
    return _state(clock)
