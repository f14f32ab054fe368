"""The transport's errors: what HTTP itself refuses, before any use case runs.

A method a path does not have (405), a body over the size limit (413) or not JSON (415) are
the API layer's business, not the domain's: they live here, beside the one place that raises
them (``api/http.py``, ``api/fallback.py``, ``api/web.py``).  They are :class:`DomainError`
subclasses only so that one renderer gives every error the contract's body.
"""

from __future__ import annotations

from chalicelib.domain.errors import DomainError


class MethodNotAllowed(DomainError):
    STATUS_CODE = 405
    DEFAULT_CODE = "method_not_allowed"


class PayloadTooLarge(DomainError):
    STATUS_CODE = 413
    DEFAULT_CODE = "payload_too_large"


class UnsupportedMediaType(DomainError):
    STATUS_CODE = 415
    DEFAULT_CODE = "unsupported_media_type"
