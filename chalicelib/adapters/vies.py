"""VIES client: the :class:`~chalicelib.services.vat_ports.VatChecker` port over the VIES REST API.

One call is one ``POST {vies_url}/check-vat-number`` with ``countryCode`` and ``vatNumber``,
plus ``requesterMemberStateCode`` and ``requesterNumber`` when the vendor's own VAT number is
configured (``VENDOR_VAT_NUMBER``): only then does VIES return a ``requestIdentifier``, the
consultation number kept as evidence.  A success looks like
``{"valid": true, "requestDate": "2026-11-26T09:00:00.000Z", "requestIdentifier": "WAPI...",
"name": "...", "address": "...", ...}`` (``"---"`` when the member state does not share name and
address); a fault like ``{"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE",
"message": "..."}]}``, with a 200 or an error status.

Failure handling (VT2, VT3, AZ5) -- the call never raises for what the network or VIES does:

* explicit timeouts: ``settings.vies_timeout_seconds`` to connect and again to read; reading
  the (small, capped) body also stops at connect + read timeouts in total, so a server that
  trickles bytes cannot hold a request longer;
* no automatic retries and no redirects: a customer's request waits for one attempt only; the
  ``vat-recheck`` job retries later with backoff;
* a timeout, a connection error, a non-JSON or malformed body, an unexpected status, or a fault
  that is not ``INVALID_INPUT`` give ``unavailable`` (the ID stays pending: fail closed).

urllib3 (which botocore already brings) is imported on the first call, not at import time.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.logs import log_event
from chalicelib.services.vat_ports import (
    FAULT_BAD_ANSWER,
    FAULT_CONNECTION,
    FAULT_TIMEOUT,
    VatCheckResult,
    status_of_fault,
)

if TYPE_CHECKING:
    from urllib3 import PoolManager

    from chalicelib.services.ports import Clock

CHECK_PATH = "/check-vat-number"
MAX_ANSWER_BYTES = 64 * 1024
"""VIES answers are well under 2 KiB; anything past this is not VIES."""

_PREFIX = re.compile(r"[A-Z]{2}")
_NUMBER = re.compile(r"[A-Z0-9]{2,20}")
_FAULT = re.compile(r"[A-Z][A-Z_]{0,63}")
_SEPARATORS = re.compile(r"[\s.\-]")
_MAX_TEXT = 500
_DATE_SLACK = timedelta(days=1)


class ViesClient:
    """Checks VAT IDs against VIES (or the embedded fake, ``devstack/fake_vies.py``)."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._url = settings.vies_url.rstrip("/") + CHECK_PATH
        self._timeout = float(settings.vies_timeout_seconds)
        if clock is None:
            from chalicelib.adapters.clock import SystemClock

            clock = SystemClock()
        self._clock = clock

    @cached_property
    def _pool(self) -> PoolManager:
        import urllib3

        return urllib3.PoolManager(
            num_pools=2,
            maxsize=4,
            retries=False,
            timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout),
        )

    def check(self, country_code: str, number: str) -> VatCheckResult:
        """Ask VIES about ``number`` under the VAT prefix ``country_code`` (``EL`` for Greece)."""
        prefix = country_code.strip().upper()
        prefix = "EL" if prefix == "GR" else prefix
        bare = _SEPARATORS.sub("", number).upper()
        if not _PREFIX.fullmatch(prefix) or not _NUMBER.fullmatch(bare):
            # Never sent: VIES would answer INVALID_INPUT.
            return VatCheckResult("invalid", self._clock.now(), fault="INVALID_INPUT")
        result = self._consult(prefix, bare)
        if result.status == "unavailable":
            log_event("vies.unavailable", country=prefix, fault=result.fault)
        return result

    def _request_body(self, prefix: str, number: str) -> bytes:
        body: dict[str, str] = {"countryCode": prefix, "vatNumber": number}
        requester = _requester(self._settings)
        if requester is not None:
            body["requesterMemberStateCode"], body["requesterNumber"] = requester
        return json.dumps(body).encode()

    def _consult(self, prefix: str, number: str) -> VatCheckResult:
        import urllib3
        from urllib3.exceptions import HTTPError, NewConnectionError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        deadline = time.monotonic() + 2 * self._timeout
        try:
            response = self._pool.request(
                "POST",
                self._url,
                body=self._request_body(prefix, number),
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "User-Agent": "helpdesk-accounts/1.0",
                },
                timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout),
                redirect=False,
                preload_content=False,
            )
            try:
                raw = _read_capped(response, deadline)
            finally:
                response.release_conn()
        except NewConnectionError:  # refused, unreachable (a ConnectTimeoutError subclass)
            return self._unavailable(FAULT_CONNECTION)
        except (Urllib3Timeout, TimeoutError):
            return self._unavailable(FAULT_TIMEOUT)
        except (HTTPError, OSError):
            return self._unavailable(FAULT_CONNECTION)
        if raw is None:
            return self._unavailable(FAULT_TIMEOUT)
        return parse_answer(response.status, raw, self._clock.now())

    def _unavailable(self, fault: str) -> VatCheckResult:
        return VatCheckResult("unavailable", self._clock.now(), fault=fault)


def _read_capped(response: Any, deadline: float) -> bytes | None:
    """The body, at most :data:`MAX_ANSWER_BYTES` + 1 bytes; None past ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_ANSWER_BYTES:
        if time.monotonic() > deadline:
            return None
        chunk = response.read1(MAX_ANSWER_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _requester(settings: Settings) -> tuple[str, str] | None:
    """(prefix, number) of the vendor's VAT number, when configured."""
    if not settings.vendor_vat_number:
        return None
    compact = _SEPARATORS.sub("", settings.vendor_vat_number).upper()
    if _PREFIX.fullmatch(compact[:2]):
        prefix, number = compact[:2], compact[2:]
    else:
        country = settings.vendor_country.upper()
        prefix, number = ("EL" if country == "GR" else country), compact
    return prefix, number


def _text(value: Any) -> str | None:
    """A trader's name or address: None when absent or ``---`` (not shared)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or text == "---":
        return None
    return text[:_MAX_TEXT]


def _fault(answer: dict[str, Any]) -> str | None:
    """VIES's error code in ``answer``, if it carries one (unknown shapes -> ``UNKNOWN_FAULT``)."""
    code: Any = None
    wrappers = answer.get("errorWrappers")
    if isinstance(wrappers, list) and wrappers:
        first = wrappers[0]
        code = first.get("error") if isinstance(first, dict) else None
    elif isinstance(answer.get("userError"), str) and answer["userError"] not in (
        "VALID",
        "INVALID",
    ):
        code = answer["userError"]
    elif answer.get("actionSucceed") is False:
        code = "UNKNOWN_FAULT"
    else:
        return None
    if isinstance(code, str) and _FAULT.fullmatch(code):
        return code
    return "UNKNOWN_FAULT"


def _checked_at(value: Any, now: datetime) -> datetime:
    """VIES's ``requestDate`` as UTC when it is a full timestamp close to ``now``, else ``now``."""
    if not isinstance(value, str) or "T" not in value:
        return now
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return now
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed if abs(parsed - now) <= _DATE_SLACK else now


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The answer's JSON object; None when it is too big, not JSON or not an object."""
    if len(body) > MAX_ANSWER_BYTES:
        return None
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return answer if isinstance(answer, dict) else None


def parse_answer(status: int, body: bytes, now: datetime) -> VatCheckResult:
    """Interpret one HTTP answer of ``check-vat-number`` (``now``: when it arrived, UTC)."""
    answer = _json_object(body)
    if answer is None:
        return VatCheckResult("unavailable", now, fault=FAULT_BAD_ANSWER)
    fault = _fault(answer)
    if fault is not None:
        return VatCheckResult(status_of_fault(fault), now, fault=fault)
    if status != 200:
        return VatCheckResult("unavailable", now, fault=f"http_{status}")
    valid = answer.get("valid")
    if not isinstance(valid, bool):
        return VatCheckResult("unavailable", now, fault=FAULT_BAD_ANSWER)
    identifier = _text(answer.get("requestIdentifier"))
    return VatCheckResult(
        "valid" if valid else "invalid",
        _checked_at(answer.get("requestDate"), now),
        request_identifier=identifier[:64] if identifier else None,
        name=_text(answer.get("name")) if valid else None,
        address=_text(answer.get("address")) if valid else None,
    )
