"""The PDFs of invoices and credit notes: served from storage, drawn when missing or stale.

``GET /billing/invoices/{id}/pdf`` and ``GET /billing/credit-notes/{id}/pdf`` call
:meth:`DocumentService.invoice_pdf` / :meth:`DocumentService.credit_note_pdf`: the stored
rendering of the document's current version in the asked language is served as it is (for an
invoice it was read with the session, in the authentication's one round trip: no renderer is
loaded at all); otherwise the PDF is drawn now, stored for the next request and served.
:meth:`DocumentService.prerender` is what the table's stream calls when an invoice or a
credit note is written (``app.documents_stream``): every language drawn ahead of the first
request, so a customer opening a new invoice gets the stored PDF.

Storing never decides what is served: the rendering is deterministic (``domain.documents``),
a stored PDF is used only for the version it was drawn from, and a failed store (DynamoDB
throttling, say) is logged and the drawn PDF served anyway (in :meth:`prerender` it is raised:
the stream hands the batch over again).  Duplicate or late stream records
change nothing: a current rendering is not drawn again, and an older one never overwrites a
newer one (the store is conditional).  A document that fails to render is logged and skipped
by :meth:`prerender` (the request renders it, and reports the error, if it fails again) so
one bad document cannot hold the stream back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from msgspec import Struct

from chalicelib.domain.account import Caller
from chalicelib.domain.billing import Invoice
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.documents import DocumentKind, DocumentRef, StoredDocument, storable
from chalicelib.domain.errors import DependencyUnavailable, NotFound
from chalicelib.i18n import SUPPORTED
from chalicelib.logs import log_error, log_event
from chalicelib.services.ports import Clock, DocumentRenderer, DocumentRepository


class Pdf(Struct, frozen=True):
    """What the route answers: the file's name (the document's number) and its bytes."""

    number: str
    content: bytes


class DocumentService:
    def __init__(
        self,
        repo: DocumentRepository,
        renderer: Callable[[], DocumentRenderer],
        clock: Clock,
        locales: Sequence[str] = SUPPORTED,
    ) -> None:
        self._repo = repo
        self._renderer = renderer  # built on first use: a stored PDF loads no renderer
        self._clock = clock
        self._locales = tuple(locales)

    # --- the routes -----------------------------------------------------------------------
    def invoice_pdf(self, caller: Caller, invoice_id: str, locale: str) -> Pdf:
        """The caller's invoice as a PDF in ``locale``; 404 ``invoice_not_found``."""
        invoice = self._repo.get_invoice(caller.account.id, invoice_id)
        if invoice is None:
            raise NotFound("invoice_not_found")
        return Pdf(invoice.number, self._served(self._ref(invoice), invoice, locale))

    def credit_note_pdf(self, caller: Caller, credit_note_id: str, locale: str) -> Pdf:
        """The caller's credit note as a PDF in ``locale``; 404 ``credit_note_not_found``."""
        note = self._repo.get_credit_note(caller.account.id, credit_note_id)
        if note is None:
            raise NotFound("credit_note_not_found")
        return Pdf(note.number, self._served(self._ref(note), note, locale))

    # --- the stream -----------------------------------------------------------------------
    def prerender(self, refs: Iterable[DocumentRef]) -> dict[str, int]:
        """Draw and store, in every language, the documents ``refs`` name (the invoices and
        credit notes a stream batch wrote; each once however often it is named).  Counts:
        ``rendered``, ``current`` (already stored for this version), ``missing`` (no such
        document), ``not_stored`` (too large to keep), ``failed`` (rendering raised)."""
        counts: Counter[str] = Counter()
        for ref in dict.fromkeys(refs):
            document = self._load(ref)
            if document is None:
                counts["missing"] += 1
                continue
            for locale in self._locales:
                stored = self._repo.stored_document(ref, locale)
                if stored is not None and stored.renders(document.version):
                    counts["current"] += 1
                    continue
                try:
                    content = self._draw(document, locale)
                except Exception:  # a rendering bug: the request path renders (and reports) it
                    log_error("documents.render_failed", kind=ref.kind, document_id=ref.document_id)
                    counts["failed"] += 1
                    continue
                kept = self._keep(ref, document.version, locale, content, stored, strict=True)
                counts["rendered" if kept else "not_stored"] += 1
        report = dict(counts)
        log_event("documents.prerendered", **report)
        return report

    # --- one owner of "serve stored, else draw and store" ----------------------------------
    @staticmethod
    def _ref(document: Invoice | CreditNote) -> DocumentRef:
        kind = DocumentKind.INVOICE if isinstance(document, Invoice) else DocumentKind.CREDIT_NOTE
        return DocumentRef(document.account_id, kind, document.id)

    def _load(self, ref: DocumentRef) -> Invoice | CreditNote | None:
        if ref.kind is DocumentKind.INVOICE:
            return self._repo.get_invoice(ref.account_id, ref.document_id)
        return self._repo.get_credit_note(ref.account_id, ref.document_id)

    def _draw(self, document: Invoice | CreditNote, locale: str) -> bytes:
        if isinstance(document, Invoice):
            return self._renderer().invoice_pdf(document, locale)
        return self._renderer().credit_note_pdf(document, locale)

    def _served(self, ref: DocumentRef, document: Invoice | CreditNote, locale: str) -> bytes:
        stored = self._repo.stored_document(ref, locale)
        if stored is not None and stored.renders(document.version):
            return stored.content
        content = self._draw(document, locale)
        self._keep(ref, document.version, locale, content, stored)
        return content

    def _keep(
        self,
        ref: DocumentRef,
        version: int,
        locale: str,
        content: bytes,
        stored: StoredDocument | None,
        *,
        strict: bool = False,
    ) -> bool:
        """Store a fresh rendering; False when it is too large to keep.  A newer rendering
        already stored leaves it as it is; a store that fails is logged on the request path
        and raised with ``strict`` (the stream then hands the batch over again)."""
        if not storable(content):
            log_event("documents.not_stored", kind=ref.kind, size=len(content))
            return False
        document = StoredDocument(ref, locale, version, content, self._clock.now())
        if not document.replaces(stored):
            return True
        try:
            self._repo.store_document(document)
        except DependencyUnavailable:  # served all the same; the next request stores it
            if strict:
                raise
            log_error("documents.store_failed", kind=ref.kind, document_id=ref.document_id)
        return True
