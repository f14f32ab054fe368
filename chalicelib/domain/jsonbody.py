"""JSON bodies decoded with bounded nesting: the one decoder of request and webhook bodies.

A body nested deeper than :data:`MAX_JSON_DEPTH` is refused (400 ``json_too_deep``) from a
scan of its bytes before ``json.loads`` (whose C parser recurses per level) sees it; anything
else that is not JSON is 400 ``invalid_json``.  Used by the API's request bodies
(``api/http.py``) and by the payment gateway on a signed webhook body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.domain.errors import InvalidInput

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a body (request models need 3)."""

# a string literal, or an unterminated one running to the end (so no match ever fails and
# restarts: linear on any input, e.g. ``"\"\"\"...``)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of ``raw`` nest deeper than ``limit`` (brackets inside
    strings do not count).  Linear in the size, no recursion; O(1) for bodies with few
    brackets."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENERS else -1
        if depth > limit:
            return True
    return False


_OPENERS = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def decode_json(raw: bytes) -> Any:
    """``raw`` decoded, or 400: ``json_too_deep`` past :data:`MAX_JSON_DEPTH`, else
    ``invalid_json``.  The one JSON decoder of request bodies."""
    if json_depth_exceeds(raw):
        raise InvalidInput("json_too_deep")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("invalid_json") from None
