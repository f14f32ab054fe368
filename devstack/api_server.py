"""``chalice local`` as ``make run`` serves it: ``python -m devstack.api_server local ...``.

The same command line as the ``chalice`` script, with one change: the listening socket's
backlog.  Chalice's ``ThreadedHTTPServer`` keeps socketserver's default of 5 pending
connections, so a burst of clients (16 sign-ups at once, a load test) saw connections reset
before a thread could accept them.  Every accepted connection still gets its own thread.

And one addition: chalice's request handler serves GET, HEAD, POST, PUT, PATCH, DELETE and
OPTIONS only, so ``http.server`` answered any other method (TRACE, QUERY, CONNECT ...) with its own
HTML 501, a 5xx outside the contract (found by ``tests/fuzz/test_openapi_over_http.py``).
They go to chalice's local gateway like the others, which answers a JSON 405 with ``Allow``
(as the in-process fuzzer's adapter, ``tests/fuzz/wsgi.py``, always did).
"""

from __future__ import annotations

import sys
from typing import Any

BACKLOG = 256


def _any_method(handler: Any, name: str) -> Any:
    """``do_<METHOD>`` for every method chalice's handler does not define (TRACE, QUERY ...):
    its generic handler, so the local gateway answers them."""
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


def main() -> int:
    from chalice import local
    from chalice.cli import main as chalice_main

    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    local.ChaliceRequestHandler.__getattr__ = _any_method
    sys.argv[0] = "chalice"
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
