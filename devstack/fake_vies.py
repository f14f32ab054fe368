"""FakeVies: an embedded fake of the VIES REST service, for the local stack and the tests only.

This is a FAKE.  It exists because the real VIES (``ec.europa.eu``) cannot be reached from
this environment, and because the tests need VIES's failures on demand.  It knows nothing about
real traders: whether a number is "registered" is decided by the rules below.  It speaks the
one call the adapter (``chalicelib/adapters/vies.py``) makes, in VIES's REST shapes::

    POST /check-vat-number  {"countryCode": "DE", "vatNumber": "136695976",
                             "requesterMemberStateCode": "FR", "requesterNumber": "..."}
    200 {"countryCode", "vatNumber", "requestDate", "valid", "requestIdentifier", "name",
         "address"}
    4xx/5xx {"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE", "message"}]}

Answers, by the full number asked (prefix + number).  Every documented number below PASSES
python-stdnum's format and check-digit tests, so the app's offline checks let it through to
(fake) VIES:

* :data:`FAKE_INVALID_NUMBERS` -- ``valid: false`` (well formed, but "not registered");
* :data:`FAKE_UNAVAILABLE_NUMBERS` -- the ``MS_UNAVAILABLE`` fault (HTTP 500);
* :data:`FAKE_FAULT_NUMBERS` -- one number per VIES fault (``SERVICE_UNAVAILABLE``,
  ``TIMEOUT``, ``MS_MAX_CONCURRENT_REQ``, ``GLOBAL_MAX_CONCURRENT_REQ``, ``INVALID_INPUT``
  with HTTP 400), the unavailable numbers included;
* :data:`FAKE_HANG_NUMBER` -- no answer for ``hang_seconds`` (30 s by default, far beyond the
  client's timeout), then the connection closes; ``stop()`` releases it at once;
* :data:`FAKE_GARBAGE_NUMBER` -- HTTP 200 with an HTML page instead of JSON;
* any other number -- ``valid: true`` when stdnum's check digits pass (with ``"---"`` as name and
  address for Germany, which shares neither, as the real VIES does), ``valid: false`` when they
  do not; an unknown prefix or a malformed body is ``INVALID_INPUT``.

A ``requestIdentifier`` is returned only when the requester fields are sent, as VIES does.  The
requests received are kept in :attr:`FakeVies.received` for the tests.

The server is ``http.server.ThreadingHTTPServer`` bound to 127.0.0.1 only, served from a daemon
thread; ``start()`` returns once it listens, ``stop()`` shuts it down.  It is also a context
manager.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"

FAKE_INVALID_NUMBERS: tuple[str, ...] = ("DE999999995", "FR11999999998")
"""Well-formed numbers the fake reports as not registered (``valid: false``)."""

FAKE_UNAVAILABLE_NUMBERS: tuple[str, ...] = ("DE999999987", "FR54999999980")
"""Numbers whose member state is "down": the ``MS_UNAVAILABLE`` fault."""

FAKE_FAULT_NUMBERS: dict[str, str] = {
    **dict.fromkeys(FAKE_UNAVAILABLE_NUMBERS, "MS_UNAVAILABLE"),
    "DE999999979": "SERVICE_UNAVAILABLE",
    "DE999999962": "TIMEOUT",
    "DE999999954": "MS_MAX_CONCURRENT_REQ",
    "DE999999946": "GLOBAL_MAX_CONCURRENT_REQ",
    "DE999999938": "INVALID_INPUT",
}
"""Number -> the VIES fault the fake answers for it."""

FAKE_HANG_NUMBER = "FR30999999972"
"""The fake holds this request open for ``hang_seconds`` without answering."""

FAKE_GARBAGE_NUMBER = "FR06999999964"
"""The fake answers this one with HTTP 200 and an HTML page."""

_VIES_PREFIXES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI".split()  # noqa: SIM905
)
_MAX_BODY = 16 * 1024
_GARBAGE = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"


def _stdnum_valid(number: str) -> bool:
    from stdnum.eu import vat

    return bool(vat.is_valid(number))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeVies


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeVies/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests' output stays readable."""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fault(self, status: int, error: str) -> None:
        self._send(
            status,
            {
                "actionSucceed": False,
                "errorWrappers": [{"error": error, "message": f"fake VIES: {error}"}],
            },
        )

    def do_GET(self) -> None:
        self._fault(404, "NOT_FOUND")

    def _read_request(self) -> dict[str, Any] | None:
        """The request's JSON object (recorded), or None when the body is not one."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if not 0 < length <= _MAX_BODY:
            return None
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        if not isinstance(request, dict):
            return None
        self.server.fake.record(request)
        return request

    def do_POST(self) -> None:
        fake = self.server.fake
        if self.path.rstrip("/") != "/check-vat-number":
            self._fault(404, "NOT_FOUND")
            return
        request = self._read_request()
        country, number = (request or {}).get("countryCode"), (request or {}).get("vatNumber")
        if request is None or not isinstance(country, str) or not isinstance(number, str):
            self._fault(400, "INVALID_INPUT")
            return
        country = country.upper()
        if country not in _VIES_PREFIXES or not number:
            self._fault(400, "INVALID_INPUT")
            return
        full = country + number.upper()
        if full == FAKE_HANG_NUMBER:
            fake.hang()
            return  # no answer; the connection closes
        if full == FAKE_GARBAGE_NUMBER:
            self._send(200, _GARBAGE, "text/html")
            return
        fault = FAKE_FAULT_NUMBERS.get(full)
        if fault is not None:
            self._fault(400 if fault == "INVALID_INPUT" else 500, fault)
            return
        valid = full not in FAKE_INVALID_NUMBERS and _stdnum_valid(full)
        shares_details = valid and country != "DE"
        with_requester = bool(request.get("requesterMemberStateCode")) and bool(
            request.get("requesterNumber")
        )
        self._send(
            200,
            {
                "countryCode": country,
                "vatNumber": number,
                "requestDate": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "valid": valid,
                "requestIdentifier": f"FAKE{uuid.uuid4().hex[:12].upper()}"
                if with_requester
                else "",
                "name": f"FAKE TRADER {full}" if shares_details else "---",
                "address": "1 EXAMPLE STREET\n75001 TESTVILLE" if shares_details else "---",
            },
        )


class FakeVies:
    """The fake VIES REST service on ``127.0.0.1:port`` (``port=0``: any free port)."""

    def __init__(self, port: int = 0, *, hang_seconds: float = 30.0) -> None:
        self.port = port
        self.hang_seconds = hang_seconds
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        """The base URL to put in ``VIES_URL`` (``settings.vies_url``)."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def received(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self._received.append(request)

    def hang(self) -> None:
        """Hold the current request: until ``hang_seconds`` pass or the fake stops."""
        self._stopping.wait(self.hang_seconds)

    def start(self) -> FakeVies:
        self._stopping.clear()
        server = _Server((LOOPBACK, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-vies"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FakeVies:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
