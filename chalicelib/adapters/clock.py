"""Clocks: the system clock, a settable one for tests and ``run-job --now``, and the local
stage's test clock.

The test clock (like Stripe's test clocks) lets a person or an end-to-end test freeze the time
of the whole local stack at a chosen instant (``PUT /_test/clock``) and give it back
(``DELETE /_test/clock``).  "The whole local stack" is three processes: ``chalice local``
(the API), ``make run``'s devstack process (its scheduler thread runs the jobs) and each
``python -m chalicelib.cli`` command.  They already share exactly one thing, the local
DynamoDB table on the embedded moto server, so the frozen time is stored there: a marker item
``TESTCLOCK#local`` (value: the ISO 8601 time, or empty for real time), written and read
through the repository's own marker port (``commit`` with a non-unique ``Marker``,
``get_marker``, a consistent read).  No file, no path to agree on, nothing to clean up (the
local table lives as long as the stack), and the in-memory repository honours the same
contract, so unit tests use the same class.

:class:`TestClock` caches what it read for :data:`CACHE_SECONDS`: ``now()`` is called many
times per request, and a read per call would multiply the table's traffic.  The process that
sets the clock sees the new time at once; another process within a second.  While frozen,
time does not move at all (leases, session idle time, throttle windows stand still); moving
it forward is another ``PUT``.

Only ``wiring.py`` builds a :class:`TestClock`, and only for the local stage
(``wiring.uses_test_clock``); elsewhere the container's clock is :class:`SystemClock` and
the ``/_test/clock`` routes are not registered at all.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Callable, Protocol

from chalicelib.domain.account import AccountChange, Marker, MarkerKind
from chalicelib.domain.ids import parse_iso, utc_iso

CACHE_SECONDS = 1.0
MARKER_KIND = MarkerKind.TEST_CLOCK
MARKER_KEY = "local"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put (thread-safe)."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._at = self._at + timedelta(**delta)


class MarkerStore(Protocol):
    """What the test clock needs of the repository (both repositories have it)."""

    def commit(self, change: AccountChange) -> None: ...

    def get_marker(self, kind: MarkerKind, key: str) -> str | None: ...


class TestClock:
    """Real time, unless a frozen time is stored in the local table (see the module doc)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        store: MarkerStore,
        *,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cached: tuple[float, datetime | None] | None = None  # (read at, frozen time)

    def now(self) -> datetime:
        return self.frozen_at() or datetime.now(UTC)

    def frozen_at(self) -> datetime | None:
        """The frozen time, or None when the clock follows real time."""
        with self._lock:
            cached = self._cached
            if cached is not None and self._monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
        value = self._store.get_marker(MARKER_KIND, MARKER_KEY)
        frozen = parse_iso(value) if value else None
        self._remember(frozen)
        return frozen

    def freeze(self, at: datetime) -> None:
        """Stop the local stack's time at ``at`` (every process sees it within a second)."""
        self._write(utc_iso(at.astimezone(UTC)))
        self._remember(parse_iso(utc_iso(at)))

    def release(self) -> None:
        """Back to real time."""
        self._write("")
        self._remember(None)

    def _write(self, value: str) -> None:
        marker = Marker(MARKER_KIND, MARKER_KEY, value, unique=False)
        self._store.commit(AccountChange(markers=(marker,)))

    def _remember(self, frozen: datetime | None) -> None:
        with self._lock:
            self._cached = (self._monotonic(), frozen)
