"""Structured JSON logs.

One line per event, fields JSON-encoded (so a newline in user input cannot forge a log line).
Never pass passwords, tokens, card data or secrets here: callers log ids and outcomes only.

* Context: every line written while a request is handled carries its ``request_id`` (API
  Gateway's ``requestContext.requestId``, else the Lambda request id) and, once the caller is
  known, its ``account_id``.  ``api/http.py`` opens a :func:`request_scope` per request and
  :func:`bind` s the account after authentication; the scope is cleared when the request ends.
* Redaction (defence in depth, LG2): fields whose name says password, token, secret,
  authorization, cvc or card number are replaced, and so is anything in a line that looks like
  a Stripe key (``sk_``/``rk_``), a webhook secret (``whsec_``), a client secret, a session
  token or a card number (13 to 19 digits passing the Luhn check).  A traceback goes into the
  line's ``exception`` field, redacted like the rest.
* Metrics: CloudWatch metric filters (``infra/build_resources.py``) count the events named in
  :data:`METRIC_EVENTS`, so a charge's or a mail's outcome is one log line and one metric.
* In Lambda the lines go to stdout as bare JSON, without the runtime's text prefix, so that
  the metric filters' JSON patterns match them; elsewhere (``make run``, the tests) they
  propagate to the root logger.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_logger = logging.getLogger("helpdesk")
_logger.setLevel(logging.INFO)

#: event -> CloudWatch metric name (one count per line; see infra/build_resources.py)
METRIC_EVENTS: dict[str, str] = {
    "charge.succeeded": "ChargesSucceeded",
    "charge.declined": "ChargesDeclined",
    "charge.unknown": "ChargesUnknown",
    "mail.sent": "MailSent",
    "mail.failed": "MailFailed",
    "mail.retry": "MailRetried",
    "mail.delayed": "MailDelayed",
    "http.unhandled": "UnhandledErrors",
}

REDACTED = "[redacted]"
_SENSITIVE_NAME = re.compile(
    r"pass(word|wd)?|token|secret|authori[sz]ation|cookie|cvc|cvv|card_?number|api_?key",
    re.IGNORECASE,
)
_SECRET_VALUES = re.compile(
    r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+"  # Stripe secret and restricted keys
    r"|\bwhsec_[A-Za-z0-9_]+"  # webhook signing secrets
    r"|\b[A-Za-z0-9_]+_secret_[A-Za-z0-9]+"  # PaymentIntent / SetupIntent client secrets
    r"|\b[0-9a-f]{32}\.[A-Za-z0-9_-]{20,}"  # session tokens: <account id>.<secret>
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"
)
_CARD_LIKE = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")

_context: ContextVar[dict[str, str] | None] = ContextVar("helpdesk_log_context", default=None)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _mask_card(match: re.Match[str]) -> str:
    return "[card]" if _is_card_number(re.sub(r"[ -]", "", match.group(0))) else match.group(0)


def redact_text(text: str) -> str:
    """``text`` with secrets, tokens and card numbers replaced."""
    return _CARD_LIKE.sub(_mask_card, _SECRET_VALUES.sub(REDACTED, text))


def _clean(value: Any) -> Any:
    """``value`` made JSON-able and redacted (by field name, then by content)."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return "[card]" if _is_card_number(str(abs(value))) else value
    if isinstance(value, dict):
        return {
            str(key): REDACTED
            if _SENSITIVE_NAME.search(str(key)) and item is not None
            else _clean(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value]
    return redact_text(value if isinstance(value, str) else str(value))


@contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Tag every line logged inside the block with ``request_id`` (one HTTP request)."""
    token = _context.set({"request_id": request_id})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: str | None) -> None:
    """Add ``fields`` (e.g. ``account_id``) to every further line of the current scope."""
    current = _context.get() or {}
    _context.set({**current, **{k: v for k, v in fields.items() if v is not None}})


def current_context() -> dict[str, str]:
    """The fields the current scope adds to each line."""
    return dict(_context.get() or {})


def format_line(level: str, event: str, fields: dict[str, Any]) -> str:
    """The JSON line for ``event``: time, level, event, the scope's ids, then ``fields``."""
    line: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "event": event,
        **current_context(),
        **_clean(fields),
    }
    return json.dumps(line, ensure_ascii=True)


def log_event(event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one JSON object."""
    _logger.info(format_line("info", event, fields))


def log_error(event: str, **fields: Any) -> None:
    """Log a failure (with the current exception's traceback when there is one)."""
    if sys.exc_info()[0] is not None:
        fields = {**fields, "exception": traceback.format_exc(limit=20)}
    _logger.error(format_line("error", event, fields))


def _to_stdout_in_lambda() -> None:
    """In Lambda, write bare JSON lines to stdout (the runtime's handler adds a text prefix)."""
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or _logger.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.addHandler(handler)
    _logger.propagate = False


_to_stdout_in_lambda()
