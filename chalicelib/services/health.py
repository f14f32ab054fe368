"""The health service: is each dependency answering?  (``GET /health``.)

Each dependency is a :class:`~chalicelib.services.ports.HealthProbe` (the repository, the
mailer, the payment gateway: real adapters and in-memory fakes alike implement ``ping``).  The
probes run in parallel, each in its own thread, and the whole check has one deadline
(:data:`DEADLINE_SECONDS`): a probe that raises, or has not answered by then, is ``down``.  It
fails closed: nothing but a probe that returned in time counts as ``ok``.  The adapters' pings
use short timeouts of their own, so a hung probe's thread ends soon after the answer is sent.

Providers are callables so that a dependency is built (e.g. stripe imported) only when
``/health`` is first asked, never at cold start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

from msgspec import Struct

from chalicelib.logs import log_event
from chalicelib.services.ports import HealthProbe

DEADLINE_SECONDS = 3.0
OK, DOWN = "ok", "down"


class HealthReport(Struct, frozen=True):
    """``checks``: dependency name -> ``"ok"`` or ``"down"``."""

    checks: dict[str, str]

    @property
    def healthy(self) -> bool:
        return all(state == OK for state in self.checks.values())

    def to_json(self) -> dict[str, object]:
        return {"status": "ok" if self.healthy else "degraded", "checks": dict(self.checks)}


def _ping(provide: Callable[[], HealthProbe]) -> None:
    provide().ping()


class HealthService:
    def __init__(
        self,
        probes: Mapping[str, Callable[[], HealthProbe]],
        deadline: float = DEADLINE_SECONDS,
    ) -> None:
        self._probes = dict(probes)
        self._deadline = deadline

    def check(self) -> HealthReport:
        """Ping every dependency at once; ``down`` for each that fails or is late."""
        pool = ThreadPoolExecutor(max_workers=len(self._probes), thread_name_prefix="health")
        try:
            futures: dict[str, Future[None]] = {
                name: pool.submit(_ping, provide) for name, provide in self._probes.items()
            }
            wait(futures.values(), timeout=self._deadline)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        checks: dict[str, str] = {}
        for name, future in futures.items():
            if not future.done():
                reason = "timeout"
            elif future.cancelled():
                reason = "cancelled"
            else:
                error = future.exception()
                reason = "" if error is None else type(error).__name__
            checks[name] = DOWN if reason else OK
            if reason:
                log_event("health.down", dependency=name, reason=reason)
        return HealthReport(checks)
