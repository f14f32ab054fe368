"""Credit notes end to end: their Factur-X XML (type 381, referring to the invoice) against the
official EN 16931 XSD and Schematron, the PDF/A-3 attachment, and over HTTP against the
embedded stack (DynamoDB in moto, localstripe): a declined first payment's credit note listed,
viewed, printed and as PDF; support's refunds through localstripe's Refund API, idempotent by
``Idempotency-Key``, never above what was paid; another account's credit note is a 404."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.documents.pdf import FACTURX_FILENAME
from chalicelib.documents.render import credit_note_pdf, credit_note_xml
from chalicelib.domain.billing import InvoiceStatus
from chalicelib.domain.credit_notes import CreditNote, CreditReason, credit_note_for
from chalicelib.wiring import Container
from tests import invoice_samples as samples
from tests.conftest import unique_email
from tests.facturx_check import fatal, schematron_findings, xsd_errors
from tests.helpers import Api, create_payment_method

CUSTOMERS = {
    "french_consumer": (samples.french_consumer, "S"),
    "german_business": (samples.german_business, "AE"),
    "us_customer": (samples.us_customer, "O"),
}


def sample_note(make: Any, amount: int | None = None) -> CreditNote:
    invoice = samples.issue(make())
    paid = invoice if amount is None else invoice.evolve(status=InvoiceStatus.PAID)
    return credit_note_for(
        paid,
        (),
        sequence=7,
        now=invoice.issued_at + timedelta(days=3),
        reason=CreditReason.REFUND if amount else CreditReason.ACCOUNT_CANCELLED,
        amount=amount,
    )


@pytest.mark.parametrize("name", list(CUSTOMERS))
@pytest.mark.parametrize("amount", [None, 700])
def test_credit_note_xml_is_a_valid_381_referring_to_its_invoice(
    name: str, amount: int | None
) -> None:
    make, category = CUSTOMERS[name]
    note = sample_note(make, amount)
    for locale in ("en", "fr"):
        xml = credit_note_xml(note, locale)
        assert xsd_errors(xml) == []
        findings = schematron_findings(xml)
        assert fatal(findings) == [], findings
        text = xml.decode()
        assert "<rsm:ExchangedDocument>" in text and "<ram:TypeCode>381</ram:TypeCode>" in text
        assert f"<ram:ID>{note.number}</ram:ID>" in text
        assert "<ram:InvoiceReferencedDocument>" in text
        assert f"<ram:IssuerAssignedID>{note.invoice_number}</ram:IssuerAssignedID>" in text
        assert f"<ram:CategoryCode>{category}</ram:CategoryCode>" in text


def test_the_schematron_check_catches_a_wrong_credit_note() -> None:
    from msgspec.structs import replace

    note = sample_note(samples.french_consumer, 700)
    broken = credit_note_xml(replace(note, total=note.total + 1), "en")
    assert "BR-CO-15" in {f.rule for f in fatal(schematron_findings(broken))}


def test_the_credit_note_pdf_is_pdf_a_3_with_its_xml() -> None:
    from pypdf import PdfReader

    note = sample_note(samples.german_business)
    raw = credit_note_pdf(note, "fr")
    reader = PdfReader(io.BytesIO(raw))
    (attached,) = reader.attachments[FACTURX_FILENAME]
    assert attached == credit_note_xml(note, "fr")
    text = "".join(page.extract_text() for page in reader.pages)
    assert f"Avoir {note.number}" in text and note.invoice_number in text
    assert "Résumé des transactions" not in text  # a credit note has no charge attempts


# --- over HTTP ------------------------------------------------------------------------------
PASSWORD = "correct horse battery staple"


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def with_card(api: Api, settings: Settings, number: str) -> tuple[str, dict[str, Any]]:
    token, account = api.signup(unique_email("credit"), country="FR")
    method = create_payment_method(settings, number)
    assert (
        api.call("PUT", "/billing/card", {"payment_method_id": method}, token=token).status == 200
    )
    return token, account


def support(api: Api, settings: Settings, path: str, body: dict[str, Any], key: str) -> Any:
    headers = {"X-Support-Key": settings.support_key, "Idempotency-Key": key}
    return api.call("POST", path, body, headers=headers)


def test_a_declined_first_payment_shows_its_credit_note(
    api: Api, settings: Settings, box: Container
) -> None:
    token, _ = with_card(api, settings, "4000000000000341")  # declined when charged
    declined = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert declined.status == 402
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    assert invoice["status"] == "credited"
    listed = api.call("GET", "/billing/credit-notes", token=token).json
    (summary,) = listed["items"]
    assert listed["next_cursor"] is None
    assert summary["invoice_id"] == invoice["id"] and summary["number"].startswith("CN-")
    assert (summary["total"], summary["reason"], summary["refund"]) == (
        invoice["total"],
        "first_payment_failed",
        None,
    )
    path = f"/billing/credit-notes/{summary['id']}"
    view = api.call("GET", path, token=token, headers={"Accept-Language": "fr"}).json
    assert view["invoice_number"] == invoice["number"]
    assert (view["subtotal"], view["tax"]["rate"], view["tax"]["amount"]) == (1500, "20", 300)
    assert view["lines"][0]["description"] == "Basic (mensuel)"
    assert view["reason_text"].startswith("Échec du premier paiement")
    page = api.call("GET", f"{path}/print", token=token, headers={"Accept-Language": "fr"})
    text = page.raw.decode()
    assert page.status == 200 and f"Avoir {summary['number']}" in text
    assert invoice["number"] in text and "Facture d’origine" in text
    pdf = api.call("GET", f"{path}/pdf", token=token, headers={"Accept": "application/pdf"})
    assert pdf.status == 200 and pdf.raw.startswith(b"%PDF")
    xml = api.call("GET", f"{path}/xml", token=token, headers={"Accept": "application/xml"})
    assert xsd_errors(xml.raw) == [] and b"<ram:TypeCode>381</ram:TypeCode>" in xml.raw
    other, _ = api.signup()
    assert api.call("GET", path, token=other).status == 404
    assert api.call("GET", f"{path}/pdf", token=other, headers={"Accept": "*/*"}).status == 404
    assert api.call("GET", "/billing/credit-notes/cn_nope", token=token).status == 404
    bad = api.call("GET", "/billing/credit-notes?cursor=!!", token=token)
    assert (bad.status, bad.error_code) == (400, "invalid_cursor")


def test_support_refunds_a_paid_invoice_through_stripe_once(
    api: Api, settings: Settings, box: Container
) -> None:
    token, account = with_card(api, settings, "4242424242424242")
    assert (
        api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token).status == 200
    )
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    path = f"/support/invoices/{invoice['id']}/refund"
    nobody = api.call("POST", path, {"reason": "x"})
    assert nobody.status == 401
    first = support(api, settings, path, {"amount": 600, "reason": "Outage"}, "refund-1")
    assert first.status == 200, first.json
    assert first.json["refund"] == {"status": "succeeded", "amount": 600}
    assert (first.json["subtotal"], first.json["tax"]["amount"]) == (500, 100)
    again = support(api, settings, path, {"amount": 600, "reason": "Outage"}, "refund-1")
    assert again.json["id"] == first.json["id"]
    above = support(api, settings, path, {"amount": 1300, "reason": "x"}, "refund-2")
    assert (above.status, above.json["error"]["fields"]) == (
        400,
        {"amount": "The amount is above what is left to refund on this invoice."},
    )
    box.clock.advance(seconds=1)  # type: ignore[attr-defined]  # ids order by issue time
    rest = support(api, settings, path, {"reason": "The rest"}, "refund-3")
    assert rest.status == 200 and rest.json["total"] == 1200
    done = support(api, settings, path, {"reason": "More"}, "refund-4")
    assert (done.status, done.error_code) == (409, "nothing_to_refund")
    listed = api.call("GET", "/billing/credit-notes", token=token).json["items"]
    assert [n["total"] for n in listed] == [1200, 600]  # newest first
    assert (
        api.call("GET", f"/billing/invoices/{invoice['id']}", token=token).json["status"]
        == "credited"
    )
    # localstripe holds exactly the two refunds, on the invoice's PaymentIntent
    import stripe

    client = stripe.StripeClient(
        settings.stripe_secret_key, base_addresses={"api": settings.stripe_api_base}
    )
    stored = box.repo.get_invoice(account["id"], invoice["id"])
    assert stored is not None
    intent = stored.transactions[-1].payment_intent_id
    refunds = [
        r for r in client.v1.refunds.list(params={"limit": 100}).data if r.payment_intent == intent
    ]
    assert sorted(r.amount for r in refunds) == [600, 1200]
    missing = support(
        api, settings, "/support/invoices/in_" + "0" * 25 + "/refund", {"reason": "x"}, "k"
    )
    assert missing.status == 404


class _LosingGateway:
    """The real gateway whose next refund answer is lost: after Stripe made it
    (``lost_answer``) or before it reached Stripe (``lost_request``)."""

    def __init__(self, real: Any, fault: str) -> None:
        self._real = real
        self._fault = fault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def refund(self, *args: Any, **kwargs: Any) -> Any:
        from chalicelib.domain.payments import PaymentOutcomeUnknown

        if self._fault == "lost_answer":
            self._real.refund(*args, **kwargs)
        raise PaymentOutcomeUnknown(idempotency_key=kwargs["idempotency_key"], reason="timeout")


def _localstripe_refunds(settings: Settings, intent: str) -> list[Any]:
    import stripe

    client = stripe.StripeClient(
        settings.stripe_secret_key, base_addresses={"api": settings.stripe_api_base}
    )
    listed = client.v1.refunds.list(params={"payment_intent": intent, "limit": 100}).data
    return list(listed)


@pytest.mark.parametrize("fault", ["lost_answer", "lost_request"])
def test_a_lost_refund_is_reconciled_by_the_job_over_dynamodb_and_localstripe(
    api: Api, settings: Settings, box: Container, fault: str
) -> None:
    """localstripe ignores idempotency keys, so the replay under 24 hours (same key, Stripe
    answers the first refund) is checked on the fake (tests/unit/test_refund_reconciliation.py)
    and here the path after 24 hours: the refund looked up in localstripe's refunds list by its
    credit note id, found (its answer was lost) or not (it never got there: sent again under a
    new key), and in the end exactly one refund of the amount."""
    from chalicelib.domain.credit_notes import RefundStatus
    from chalicelib.jobs.run import run_job
    from chalicelib.services.credit_notes import CreditNoteService

    token, account = with_card(api, settings, "4242424242424242")
    assert (
        api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token).status == 200
    )
    (invoice,) = api.call("GET", "/billing/invoices", token=token).json["items"]
    losing = CreditNoteService(
        box.repo, lambda: _LosingGateway(box.gateway, fault), box.clock, settings
    )
    note = losing.refund(invoice["id"], amount=700, reason="Outage", request_key=None)
    assert note.refund is not None and note.refund.status is RefundStatus.PENDING
    intent = note.refund.payment_intent_id
    assert intent is not None
    assert len(_localstripe_refunds(settings, intent)) == (1 if fault == "lost_answer" else 0)
    box.clock.advance(hours=25)  # type: ignore[attr-defined]  # the key is too old to replay
    report = run_job("reconcile-refunds", box=box)
    assert report["succeeded"] >= 1
    done = box.repo.get_credit_note(account["id"], note.id)
    assert done is not None and done.refund is not None
    assert done.refund.status is RefundStatus.SUCCEEDED
    made = _localstripe_refunds(settings, intent)
    assert [r.amount for r in made] == [700] and made[0].id == done.refund.refund_id
    assert made[0].metadata["credit_note_id"] == note.id
    expected_key = note.refund.key if fault == "lost_answer" else f"refund:{note.id}:1"
    assert done.refund.key == expected_key
    box.clock.advance(hours=1)  # type: ignore[attr-defined]
    run_job("reconcile-refunds", box=box)
    assert len(_localstripe_refunds(settings, intent)) == 1  # settled: never again
