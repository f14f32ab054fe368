"""A token bucket: at most ``rate`` acquisitions per second across every thread that shares it.

With the default burst of one token, any one-second window sees at most ``rate + 1``
acquisitions; callers that must never exceed a budget ask for ``budget - 1``.

The retry workers share one bucket so that the calls toward Stripe stay within the request
budget (Stripe's live-mode limit is 100 per second; the default budget is 90).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else 1.0
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until one request may be made."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.rate
            self._sleep(wait)
