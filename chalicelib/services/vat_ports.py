"""The VAT checker port: asks the registry (VIES) whether a VAT ID exists.

``check`` never raises for anything the outside world does.  Every answer is one of three
statuses, and the service decides what to do with it (VT2, F7):

``valid``
    VIES confirmed the number: final until the ID changes (re-checked every 3 months).
``invalid``
    VIES says the number does not exist, or refused it as ``INVALID_INPUT``: final.
``unavailable``
    No answer that can be trusted: a VIES fault that means "try later"
    (:data:`UNAVAILABLE_FAULTS`), a fault this code does not know, a timeout, a connection error,
    or an answer that is not what VIES sends.  The ID stays ``pending``, no reverse charge
    applies, and the ``vat-recheck`` job asks again with backoff (fail closed, AZ5).

The consultation date (``checked_at``) and VIES's ``request_identifier`` are kept as evidence
of the check.  ``fault`` carries VIES's error code (upper case, e.g. ``MS_UNAVAILABLE``) or a
local reason (lower case: ``timeout``, ``connection_error``, ``bad_answer``) for the logs and
the retry policy; it is never shown to customers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from msgspec import Struct

VatCheckStatus = Literal["valid", "invalid", "unavailable"]

UNAVAILABLE_FAULTS: frozenset[str] = frozenset(
    {
        "SERVICE_UNAVAILABLE",
        "MS_UNAVAILABLE",
        "TIMEOUT",
        "MS_MAX_CONCURRENT_REQ",
        "GLOBAL_MAX_CONCURRENT_REQ",
    }
)
"""VIES faults that mean "ask again later" (any unknown fault is treated the same way)."""

INVALID_FAULTS: frozenset[str] = frozenset({"INVALID_INPUT"})
"""VIES faults that mean the number itself is rejected."""

# Local reasons for "unavailable" (lower case, never VIES's own codes).
FAULT_TIMEOUT = "timeout"
FAULT_CONNECTION = "connection_error"
FAULT_BAD_ANSWER = "bad_answer"


def status_of_fault(fault: str) -> VatCheckStatus:
    """``invalid`` for :data:`INVALID_FAULTS`, ``unavailable`` for everything else."""
    return "invalid" if fault in INVALID_FAULTS else "unavailable"


class VatCheckResult(Struct, frozen=True):
    """One consultation of the registry."""

    status: VatCheckStatus
    checked_at: datetime  # timezone-aware UTC: VIES's requestDate when given, else local time
    request_identifier: str | None = None  # VIES's consultation number (with requester data)
    name: str | None = None  # the trader's name, when the member state shares it
    address: str | None = None  # the trader's address, when the member state shares it
    fault: str | None = None  # see the module docstring

    @property
    def final(self) -> bool:
        """True for ``valid`` and ``invalid`` (no retry), False for ``unavailable``."""
        return self.status != "unavailable"


class VatChecker(Protocol):
    def check(self, country_code: str, number: str) -> VatCheckResult:
        """Consult the registry about ``number`` (without its prefix) under the VAT prefix
        ``country_code`` (``EL`` for Greece).  Never raises for remote failures."""
        ...
