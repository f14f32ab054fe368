"""Structured JSON logs.

One line per event, fields JSON-encoded (so a newline in user input cannot forge a log line).
Never pass passwords, tokens, card data or secrets here: callers log ids and outcomes only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_logger = logging.getLogger("helpdesk")
_logger.setLevel(logging.INFO)


def log_event(event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one JSON object."""
    _logger.info(json.dumps({"event": event, **fields}, default=str, ensure_ascii=True))


def log_error(event: str, **fields: Any) -> None:
    """Log a failure (with the current exception's traceback when there is one)."""
    _logger.error(
        json.dumps({"event": event, **fields}, default=str, ensure_ascii=True), exc_info=True
    )
