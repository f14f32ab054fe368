"""The error hierarchy.

Every error a client may see is a :class:`DomainError` subclass carrying its HTTP status as a
class attribute (as Chalice's ``ChaliceViewError.STATUS_CODE``) and a snake_case ``code``.  The
human message is not stored here: it is looked up by code in the i18n catalogue when the API
layer renders the contract's error body, in the language of the request.  The transport's
own refusals (405, 413, 415) are the API layer's: ``chalicelib/api/errors.py``.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error shown to clients."""

    STATUS_CODE = 400
    DEFAULT_CODE = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code or self.DEFAULT_CODE
        self.fields = fields or {}  # field name -> message code
        self.params = params or {}  # values interpolated in the message
        self.extra = extra or {}  # extra members of the error object
        self.headers = headers or {}
        super().__init__(self.code)


class InvalidInput(DomainError):
    STATUS_CODE = 400
    DEFAULT_CODE = "validation_error"


class NotAuthenticated(DomainError):
    STATUS_CODE = 401
    DEFAULT_CODE = "not_authenticated"


class PaymentFailed(DomainError):
    STATUS_CODE = 402
    DEFAULT_CODE = "card_declined"


class Forbidden(DomainError):
    STATUS_CODE = 403
    DEFAULT_CODE = "forbidden"


class NotFound(DomainError):
    STATUS_CODE = 404
    DEFAULT_CODE = "not_found"


class Conflict(DomainError):
    STATUS_CODE = 409
    DEFAULT_CODE = "conflict"


class Throttled(DomainError):
    STATUS_CODE = 429
    DEFAULT_CODE = "too_many_attempts"

    def __init__(self, code: str | None = None, *, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(code, headers={"Retry-After": str(self.retry_after)})


class DependencyUnavailable(DomainError):
    STATUS_CODE = 503
    DEFAULT_CODE = "service_unavailable"


class ConcurrentUpdate(Exception):
    """A conditional write lost a race (version or condition check failed).

    Internal: services re-read and retry, or turn it into a :class:`Conflict`.
    """


class CounterMoved(ConcurrentUpdate):
    """Another writer took the next number of a counter first (re-read it and retry)."""


class MarkerExists(ConcurrentUpdate):
    """A unique marker (webhook event id, idempotency key) was already written."""


class EmailAlreadyUsed(Exception):
    """The email marker already exists (internal; services raise ``email_taken``)."""


class InternalError(DomainError):
    """A bug: answered as a 500 in the contract's format (never for bad input)."""

    STATUS_CODE = 500
    DEFAULT_CODE = "internal_error"
