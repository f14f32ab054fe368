"""Stored PDFs (``services.documents``) over the in-memory repository and a counting renderer:
served stored for the document's current version only, drawn (and stored) otherwise, drawn
ahead by the stream in every language, and never let an older rendering win."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.adapters.clock import FixedClock
from chalicelib.adapters.memory import InMemoryRepository
from chalicelib.domain.account import AccountChange, Caller, Session
from chalicelib.domain.billing import Invoice, Transaction
from chalicelib.domain.credit_notes import CreditNote
from chalicelib.domain.documents import MAX_STORED_BYTES, DocumentKind, DocumentRef, StoredDocument
from chalicelib.domain.errors import DependencyUnavailable, NotFound
from chalicelib.jobs.run import DOCUMENT_FILTER, changed_documents
from chalicelib.services.documents import DocumentService
from devstack.streams import matches
from tests import invoice_samples as samples

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@dataclass
class CountingRenderer:
    """Draws ``%PDF <id> v<version> <locale>`` and counts each drawing."""

    drawn: list[tuple[str, int, str]] = field(default_factory=list)
    size: int = 0  # pad each drawing to this many bytes
    broken: set[str] = field(default_factory=set)  # document ids whose drawing raises

    def _draw(self, document_id: str, version: int, locale: str) -> bytes:
        if document_id in self.broken:
            raise ValueError("a rendering bug")
        self.drawn.append((document_id, version, locale))
        return f"%PDF {document_id} v{version} {locale}".encode().ljust(self.size, b" ")

    def invoice_pdf(self, invoice: Invoice, locale: str) -> bytes:
        return self._draw(invoice.id, invoice.version, locale)

    def credit_note_pdf(self, note: CreditNote, locale: str) -> bytes:
        return self._draw(note.id, note.version, locale)


@pytest.fixture
def repo() -> InMemoryRepository:
    return InMemoryRepository()


@pytest.fixture
def renderer() -> CountingRenderer:
    return CountingRenderer()


@pytest.fixture
def service(repo: InMemoryRepository, renderer: CountingRenderer) -> DocumentService:
    return DocumentService(repo, lambda: renderer, FixedClock(NOW))


def stored_invoice(repo: InMemoryRepository) -> Invoice:
    invoice = samples.issue(samples.french_consumer(), paid=False)
    invoice = replace(invoice, id=f"in_{len(repo.invoices):026d}")
    repo.commit(AccountChange(invoices=((invoice, None),)))
    return invoice


def caller_of(account_id: str) -> Caller:
    account = replace(samples.french_consumer(), id=account_id)
    session = Session(account_id, "hash", 0, NOW, NOW)
    return Caller(account=account, session=session, ip="10.0.0.1")


def test_the_first_request_draws_and_stores_the_next_serves_the_stored_bytes(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    invoice = stored_invoice(repo)
    first = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "fr")
    assert (first.number, renderer.drawn) == (invoice.number, [(invoice.id, 0, "fr")])
    second = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "fr")
    assert second.content == first.content and len(renderer.drawn) == 1
    ref = DocumentRef(invoice.account_id, DocumentKind.INVOICE, invoice.id)
    assert repo.documents[(ref, "fr")].rendered_at == NOW


def test_a_changed_invoice_is_drawn_again_never_served_stale(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    invoice = stored_invoice(repo)
    before = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "en").content
    tx = Transaction("tx_1", NOW, invoice.total, "succeeded", "visa", "4242")
    repo.commit(AccountChange(invoices=((invoice.paid(tx), invoice.version),)))
    after = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "en").content
    assert after != before and after.startswith(f"%PDF {invoice.id} v1 en".encode())
    assert [v for _, v, _ in renderer.drawn] == [0, 1]


def test_another_accounts_invoice_is_a_404_and_nothing_is_drawn(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    invoice = stored_invoice(repo)
    with pytest.raises(NotFound) as refused:
        service.invoice_pdf(caller_of("someone-else"), invoice.id, "en")
    assert refused.value.code == "invoice_not_found" and renderer.drawn == []


def test_prerender_draws_every_language_once_and_a_duplicate_record_draws_nothing(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    invoice = stored_invoice(repo)
    ref = DocumentRef(invoice.account_id, DocumentKind.INVOICE, invoice.id)
    missing = DocumentRef(invoice.account_id, DocumentKind.CREDIT_NOTE, "cn_missing")
    assert service.prerender([ref, ref, missing]) == {"rendered": 2, "missing": 1}
    assert sorted(locale for _, _, locale in renderer.drawn) == ["en", "fr"]
    assert service.prerender([ref]) == {"current": 2}
    assert len(renderer.drawn) == 2
    service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "en")
    assert len(renderer.drawn) == 2  # the customer gets what the stream drew


def test_an_older_rendering_never_overwrites_a_newer_one(repo: InMemoryRepository) -> None:
    ref = DocumentRef("acc", DocumentKind.INVOICE, "in_1")
    newer = StoredDocument(ref, "en", 3, b"v3", NOW)
    assert repo.store_document(newer)
    assert not repo.store_document(replace(newer, source_version=2, content=b"v2"))
    assert not repo.store_document(replace(newer, content=b"again"))
    assert repo.documents[(ref, "en")].content == b"v3"
    assert repo.store_document(replace(newer, source_version=4, content=b"v4"))


def test_a_pdf_too_large_to_keep_is_served_and_not_stored(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    renderer.size = MAX_STORED_BYTES + 1
    invoice = stored_invoice(repo)
    pdf = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "en")
    assert len(pdf.content) == MAX_STORED_BYTES + 1 and repo.documents == {}
    ref = DocumentRef(invoice.account_id, DocumentKind.INVOICE, invoice.id)
    assert service.prerender([ref]) == {"not_stored": 2}


def test_a_failed_store_still_serves_the_pdf_and_fails_the_stream_batch(
    repo: InMemoryRepository, service: DocumentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = stored_invoice(repo)

    def unavailable(document: StoredDocument) -> bool:
        raise DependencyUnavailable()

    monkeypatch.setattr(repo, "store_document", unavailable)
    pdf = service.invoice_pdf(caller_of(invoice.account_id), invoice.id, "en")
    assert pdf.content.startswith(b"%PDF")
    ref = DocumentRef(invoice.account_id, DocumentKind.INVOICE, invoice.id)
    with pytest.raises(DependencyUnavailable):  # Lambda hands the batch over again
        service.prerender([ref])


def test_a_document_that_fails_to_render_does_not_hold_the_stream_back(
    repo: InMemoryRepository, renderer: CountingRenderer, service: DocumentService
) -> None:
    broken, fine = stored_invoice(repo), stored_invoice(repo)
    renderer.broken.add(broken.id)
    refs = [DocumentRef(i.account_id, DocumentKind.INVOICE, i.id) for i in (broken, fine)]
    assert service.prerender(refs) == {"failed": 2, "rendered": 2}


def _record(event: str, kind: str, pk: str, sk: str) -> Any:
    image = {"pk": {"S": pk}, "sk": {"S": sk}, "kind": {"S": kind}}
    return SimpleNamespace(event_name=event, new_image=image), {
        "eventName": event,
        "dynamodb": {"NewImage": image},
    }


@pytest.mark.parametrize(
    ("event", "kind", "sk", "wanted"),
    [
        ("INSERT", "invoice", "INVOICE#in_1", DocumentKind.INVOICE),
        ("MODIFY", "invoice", "INVOICE#in_1", DocumentKind.INVOICE),
        ("INSERT", "credit_note", "CREDIT#cn_1", DocumentKind.CREDIT_NOTE),
        ("REMOVE", "invoice", "INVOICE#in_1", None),
        ("INSERT", "document", "PDF#invoice#in_1#en", None),  # its own write: no loop
        ("INSERT", "charge", "CHARGE#in_1", None),
    ],
)
def test_the_stream_filter_and_the_handler_agree_on_what_is_a_document(
    event: str, kind: str, sk: str, wanted: DocumentKind | None
) -> None:
    chalice_record, raw = _record(event, kind, "ACCOUNT#acc", sk)
    refs = changed_documents([chalice_record])
    assert matches(DOCUMENT_FILTER, raw) is (wanted is not None)
    assert [r.kind for r in refs] == ([wanted] if wanted else [])
    if wanted:
        assert refs[0].account_id == "acc" and refs[0].document_id == sk.split("#")[1]
