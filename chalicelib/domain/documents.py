"""Rendered documents: the Factur-X PDF of an invoice or a credit note, kept once rendered.

Rendering a PDF needs fpdf2, drafthorse and lxml (about 0.4 s to import, 0.1 s to draw): a
cold Lambda serving ``GET /billing/invoices/{id}/pdf`` by rendering pays that on the request.
So the PDF is rendered when the document is issued or changes (the table's stream calls
``DocumentService.prerender``) and stored next to it, per language; the route serves the
stored bytes when they are of the document's current ``version`` and renders (and stores)
otherwise.  The rendering is deterministic (the dates printed and written into the PDF's
metadata are the document's own), so a stored PDF is byte for byte what rendering it again
gives: storing it changes what is served in no way but its speed.

A document's ``version`` grows with each change (an invoice paid, a failed attempt recorded,
a credit note's refund settled), and a stored rendering names the version it was drawn from:
one older than the document is never served, and never overwrites a newer one
(``StoredDocument.replaces``).
"""

from __future__ import annotations

import enum
from datetime import datetime

from msgspec import Struct

MAX_STORED_BYTES = 350_000
"""A rendering larger than this is served without being stored: a DynamoDB item holds at most
400 KB with its keys and attribute names.  An invoice of a few lines renders to about 40 KB
(the two embedded font subsets are most of it)."""


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentRef(Struct, frozen=True):
    """Which document: its account, kind and id (a stream record names one)."""

    account_id: str
    kind: DocumentKind
    document_id: str


class StoredDocument(Struct, frozen=True):
    """The PDF of one version of a document in one language."""

    ref: DocumentRef
    locale: str
    source_version: int
    content: bytes
    rendered_at: datetime

    def renders(self, version: int) -> bool:
        """Drawn from the document as it is at ``version``: the bytes to serve."""
        return self.source_version == version

    def replaces(self, stored: StoredDocument | None) -> bool:
        """May be stored over ``stored`` (nothing, or a rendering of an older version)."""
        return stored is None or stored.source_version < self.source_version


def storable(content: bytes) -> bool:
    """Small enough to keep in one item (``MAX_STORED_BYTES``)."""
    return len(content) <= MAX_STORED_BYTES
