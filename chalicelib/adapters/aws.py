"""One botocore session per process, shared by every AWS client the adapters make.

A botocore ``Session`` loads and caches the data every client needs (endpoints, partitions,
service models, retry and default configuration); building a second session reloads all of
it.  PynamoDB, left to itself, gives each ``Model`` class its own ``Connection`` with its own
session and client, so a process that signs a user in built three DynamoDB clients (each
reloading the DynamoDB service model) and a warm process held five, each with its own TLS
connection pool.  Here there is one session (:func:`session`), from which
:mod:`chalicelib.adapters.dynamo.models` builds the one DynamoDB client every model and the
repository's transactions share, and :mod:`chalicelib.adapters.secrets` its Secrets Manager
client.

botocore's client creation is not thread-safe on a shared session: every client is made
under :data:`LOCK`.  Made clients are thread-safe (the retry workers share them).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import botocore.session

LOCK = threading.RLock()
"""Held while the session or a client is being built."""

_session: botocore.session.Session | None = None


def session() -> botocore.session.Session:
    """The process's botocore session (built on first use)."""
    global _session
    with LOCK:
        if _session is None:
            import botocore.session

            _session = botocore.session.get_session()
        return _session


def client(
    service: str,
    *,
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
) -> Any:
    """A new ``service`` client on the shared session (standard retry mode)."""
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
    )
    with LOCK:
        return session().create_client(
            service, region_name=region, endpoint_url=endpoint_url, config=config
        )
