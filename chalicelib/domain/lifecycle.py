"""Cancel and reactivate: the reasons a customer may give, reactivation requests, their errors.

* Cancelling keeps everything (invoices, transactions, the audit trail); it ends every
  session, stops renewals and retries, and cancels what is still owed (its charges void, its
  open invoices credited by credit notes).
* A cancelled free trial (never paid: no ``plan``) comes back on its own.  A cancelled paid
  account asks to come back: a :class:`ReactivationRequest` is stored under the account and
  support is mailed; support approves (the account is ``active`` again and a renewal is due at
  once) or rejects it (the account stays ``cancelled``).
* A request's id is ``<account id>.<time-ordered random part>``: it names the account, so the
  request is one GetItem away without any Scan, and sorting ids sorts requests by time.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from msgspec import Struct
from msgspec.structs import replace

from chalicelib.domain.errors import Conflict

CANCEL_REASONS: tuple[str, ...] = (
    "too_expensive",
    "not_using",
    "missing_features",
    "switching",
    "technical_issues",
    "other",
)
COMMENT_MAX = 1000
MIN_TRIAL_DAYS_ON_RETURN = 7
REACTIVATION_QUEUE = "reactivation"  # open requests, by request time (``queue_entry``)


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class Actor(enum.StrEnum):
    """Who did something, as the audit trail records it."""

    CUSTOMER = "customer"
    SUPPORT = "support"


class ReactivationRequest(Struct, frozen=True):
    """A cancelled paid account's request to come back, decided by support.

    Only an ``open`` request is in the support queue; a decided one is kept (with who decided,
    when and the optional note) as the account's history.
    """

    id: str
    account_id: str
    email: str
    requested_at: datetime
    status: RequestStatus = RequestStatus.OPEN
    plan: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None
    version: int = 0

    def evolve(self, **changes: Any) -> ReactivationRequest:
        """A copy with ``changes`` and the version bumped (for a conditional write)."""
        return replace(self, version=self.version + 1, **changes)

    @property
    def is_open(self) -> bool:
        return self.status is RequestStatus.OPEN

    def queue_entry(self) -> tuple[str, datetime] | None:
        """``(queue, time)``: an open request waits in ``reactivation`` (support's list, oldest
        first); a decided one is in no queue."""
        return (REACTIVATION_QUEUE, self.requested_at) if self.is_open else None


def new_request_id(account_id: str, now: datetime) -> str:
    """``<account id>.<milliseconds hex><random hex>``: findable and time-ordered."""
    return f"{account_id}.{int(now.timestamp() * 1000):013x}{secrets.token_hex(4)}"


def request_account_id(request_id: str) -> str | None:
    """The account id a well-formed request id names, else None."""
    account_id, dot, rest = request_id.partition(".")
    hexdigits = "0123456789abcdef"
    if (
        not dot
        or len(account_id) != 32
        or not 8 <= len(rest) <= 40
        or not all(c in hexdigits for c in account_id + rest)
    ):
        return None
    return account_id


class PaymentInProgress(Conflict):
    """Cancel refused while a charge may be moving money (processing, or its outcome unknown):
    voiding it could lose a payment the bank accepted.  Nothing was changed."""

    def __init__(self) -> None:
        super().__init__("payment_in_progress")
        self.message_key = "cancel_payment_in_progress"
