"""Stored PDFs over the embedded moto and the real renderer: the poller ``make run`` runs (as
Lambda's event source does) hands a new invoice to ``app.documents_stream``, which stores its
PDF in both languages; the PDF route then serves those bytes (equal to a fresh rendering)
with the authentication's one BatchGet and no renderer; a paid invoice is drawn again; the
conditional store keeps the newest rendering."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from msgspec.structs import replace

from chalicelib.config import Settings
from chalicelib.documents.render import invoice_pdf
from chalicelib.domain.documents import DocumentKind, DocumentRef, StoredDocument
from chalicelib.jobs.run import DOCUMENT_FILTER
from chalicelib.wiring import Container
from devstack.streams import StreamPoller
from tests.helpers import Api, create_payment_method
from tests.integration.conftest import polling


@pytest.fixture
def poller(box: Container, chalice_app: Any) -> Iterator[StreamPoller]:
    import app as lambda_app

    with polling(box.settings, lambda_app.documents_stream, DOCUMENT_FILTER) as started:
        yield started


def subscribed(api: Api, settings: Settings) -> tuple[str, str, str]:
    """A new account paying by card: its token, account id and first invoice id."""
    token, account = api.signup()
    card = create_payment_method(settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token).status == 200
    subscribe = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert subscribe.status == 200, subscribe.json
    invoice_id = api.call("GET", "/billing/invoices", token=token).json["items"][0]["id"]
    return token, account["id"], invoice_id


def wait_for(box: Container, ref: DocumentRef, locale: str, version: int) -> StoredDocument:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = box.repo.stored_document(ref, locale)
        if stored is not None and stored.renders(version):
            return stored
        time.sleep(0.1)
    raise AssertionError(f"no stored PDF of {ref} v{version} in {locale}")


def test_a_new_invoices_pdf_is_stored_from_the_stream_and_served_in_one_read(
    api: Api, settings: Settings, box: Container, poller: StreamPoller, calls: Counter[str]
) -> None:
    token, account_id, invoice_id = subscribed(api, settings)
    invoice = box.repo.get_invoice(account_id, invoice_id)
    assert invoice is not None
    ref = DocumentRef(account_id, DocumentKind.INVOICE, invoice_id)
    stored = {locale: wait_for(box, ref, locale, invoice.version) for locale in ("en", "fr")}
    assert stored["fr"].content == invoice_pdf(invoice, "fr")  # byte for byte a fresh drawing

    calls.clear()
    answer = api.call(
        "GET",
        f"/billing/invoices/{invoice_id}/pdf",
        token=token,
        headers={"Accept": "application/pdf", "Accept-Language": "fr"},
    )
    assert answer.status == 200 and answer.raw == stored["fr"].content
    assert dict(calls) == {"BatchGetItem": 1}  # session, account, invoice and its PDF


def test_an_invoice_paid_later_is_drawn_again(
    api: Api, settings: Settings, box: Container, chalice_app: Any
) -> None:
    from chalicelib.domain.account import AccountChange
    from chalicelib.domain.billing import Transaction

    token, account_id, invoice_id = subscribed(api, settings)
    invoice = box.repo.get_invoice(account_id, invoice_id)
    assert invoice is not None
    pdf = {"Accept": "application/pdf"}
    first = api.call("GET", f"/billing/invoices/{invoice_id}/pdf", token=token, headers=pdf)
    tx = Transaction("tx_later", box.clock.now(), invoice.total, "failed", "visa", "0002")
    box.repo.commit(AccountChange(invoices=((invoice.with_transaction(tx), invoice.version),)))
    second = api.call("GET", f"/billing/invoices/{invoice_id}/pdf", token=token, headers=pdf)
    assert first.status == second.status == 200 and first.raw != second.raw
    changed = box.repo.get_invoice(account_id, invoice_id)
    assert changed is not None and second.raw == invoice_pdf(changed, "en")


def test_the_conditional_store_keeps_the_newest_rendering(box: Container) -> None:
    ref = DocumentRef("acc_store", DocumentKind.INVOICE, "in_store")
    newer = StoredDocument(ref, "en", 2, b"%PDF v2", box.clock.now())
    assert box.repo.store_document(newer)
    assert not box.repo.store_document(replace(newer, source_version=1, content=b"%PDF v1"))
    assert not box.repo.store_document(replace(newer, content=b"%PDF again"))
    kept = box.repo.stored_document(ref, "en")
    assert kept is not None and (kept.content, kept.source_version) == (b"%PDF v2", 2)
    assert box.repo.store_document(replace(newer, source_version=3, content=b"%PDF v3"))


def test_a_credit_notes_pdf_is_stored_on_first_request_then_served(
    api: Api, settings: Settings, box: Container, calls: Counter[str]
) -> None:
    from chalicelib.documents.render import credit_note_pdf

    token, account_id, invoice_id = subscribed(api, settings)
    headers = {"X-Support-Key": settings.support_key, "Idempotency-Key": "stored-doc-refund"}
    path = f"/support/invoices/{invoice_id}/refund"
    refund = api.call("POST", path, {"amount": 600, "reason": "Outage"}, headers=headers)
    assert refund.status == 200, refund.json
    note_id = refund.json["id"]
    ref = DocumentRef(account_id, DocumentKind.CREDIT_NOTE, note_id)
    assert box.repo.stored_document(ref, "en") is None  # no poller here: nothing drawn yet

    pdf_path = f"/billing/credit-notes/{note_id}/pdf"
    first = api.call("GET", pdf_path, token=token, headers={"Accept": "application/pdf"})
    stored = box.repo.stored_document(ref, "en")
    note = box.repo.get_credit_note(account_id, note_id)
    assert note is not None and stored is not None and stored.renders(note.version)
    assert first.status == 200 and first.raw == stored.content == credit_note_pdf(note, "en")
    calls.clear()
    again = api.call("GET", pdf_path, token=token, headers={"Accept": "application/pdf"})
    assert again.raw == first.raw and "PutItem" not in calls
