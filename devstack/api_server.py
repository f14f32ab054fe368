"""``chalice local`` as ``make run`` serves it: ``python -m devstack.api_server local ...``.

The same command line as the ``chalice`` script, with one change: the listening socket's
backlog.  Chalice's ``ThreadedHTTPServer`` keeps socketserver's default of 5 pending
connections, so a burst of clients (16 sign-ups at once, a load test) saw connections reset
before a thread could accept them.  Every accepted connection still gets its own thread.
"""

from __future__ import annotations

import sys

BACKLOG = 256


def main() -> int:
    from chalice import local
    from chalice.cli import main as chalice_main

    local.ThreadedHTTPServer.request_queue_size = BACKLOG
    sys.argv[0] = "chalice"
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
