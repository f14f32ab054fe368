"""Free text typed by customers (names, address lines, comments): which characters it may hold.

Refused everywhere: control characters (Unicode category ``Cc``: C0, DEL, C1 such as U+0085),
the bidirectional controls that reorder what a reader sees (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069; "Trojan Source") and the line and paragraph separators U+2028,
U+2029.  Multi-line fields (comments, notes) allow line feed, carriage return and tab.  Other
format characters stay allowed: the zero-width joiners are needed by emoji and by several
scripts.  The API's request models apply :func:`unsafe_character` to every such field
(``chalicelib/api/schemas.py``), answering 400 ``validation_error`` with the field named.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
SEPARATORS = frozenset("\u2028\u2029")
MULTILINE_ALLOWED = frozenset("\n\r\t")


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of ``value`` that may not be stored, or None."""
    for char in value:
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if char in BIDI_CONTROLS or char in SEPARATORS or unicodedata.category(char) == "Cc":
            return char
    return None
