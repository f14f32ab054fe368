"""One domain object of every stored item type, with fixed ids and times, for the stored-format
check (``test_stored_items.py``): ``stored_items_v1.json`` holds the items the repository wrote
for them before ``adapters/dynamo`` was split into ``keys`` / ``mapping`` / ``repository``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.account import (
    Account,
    AccountChange,
    AccountStatus,
    AccountToken,
    AuditEvent,
    MailStatus,
    Marker,
    MarkerKind,
    OutboxMail,
    Session,
    TokenPurpose,
    WorkItem,
)
from chalicelib.domain.billing import (
    Address,
    Attempt,
    Charge,
    ChargePurpose,
    ChargeState,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Party,
    Tax,
    Transaction,
)
from chalicelib.domain.legal import SellerLegal
from chalicelib.domain.lifecycle import ReactivationRequest
from chalicelib.domain.payments import CardSummary, DeclineInfo
from chalicelib.domain.tax import TaxFacts
from chalicelib.domain.throttle import TrustedDevice

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ACTIVE = "5a0e1c2d3b4f40718293a4b5c6d7e8f9"  # an active account (renewal queue)
TRIAL = "6b1f2d3e4c5041829304b5c6d7e8f9a0"  # a trial account (trial queue)
OSS_INVOICE = "0195f1a2b3c4-aa01"
PAID_INVOICE = "0195f1a2b3c5-aa02"
EMAIL_DOMAIN = "stored.example.com"


def tax_facts(oss: bool, quarter: str = "2026Q1") -> TaxFacts:
    """An OSS sale (to Belgium) or a domestic one."""
    return TaxFacts(
        scheme="oss" if oss else "domestic",
        rate="21" if oss else "20",
        country="BE" if oss else "FR",
        place_of_supply="BE" if oss else "FR",
        billing_country="BE" if oss else "FR",
        billing_postal_code="1000" if oss else "75001",
        card_country="BE",
        evidence_conflict=not oss,
        business=False,
        customer_vat_id=None,
        vat_id_status=None,
        vies_request_id=None,
        vies_checked_at=None,
        exemption=None,
        quarter=quarter,
    )


def invoice(invoice_id: str, status: InvoiceStatus, oss: bool) -> Invoice:
    facts = tax_facts(oss)
    return Invoice(
        id=invoice_id,
        account_id=ACTIVE,
        number="HD-2026-000042",
        status=status,
        issued_at=AT,
        period_start=AT,
        period_end=AT + timedelta(days=31),
        currency="EUR",
        lines=(InvoiceLine("Pro", 1, 2900, 2900),),
        subtotal=2900,
        tax=Tax("21", 609),
        total=3509,
        customer=Party("Ada", Address("Ada", "1 rue", "Bruxelles", "1000", "BE"), None, "a@x.io"),
        seller=Party("HelpDesk SAS", None, "FR40303265045"),
        plan_id="pro-monthly",
        transactions=(
            Transaction("tx1", AT, 3509, "failed", "visa", "4242", "card_declined", "k", "pi_1"),
        ),
        version=3,
        tax_facts=facts,
        seller_legal=SellerLegal("SAS", "10000", "EUR", "303265045", "Paris"),
    )


def samples() -> AccountChange:
    """Every item type once (the account items, invoices, charges, ... of two accounts)."""
    active = Account(
        id=ACTIVE,
        email=f"active@{EMAIL_DOMAIN}",
        name="Ada",
        country="BE",
        locale="fr",
        password_hash="plain$pw",
        created_at=AT - timedelta(days=40),
        status=AccountStatus.ACTIVE,
        phone="+32470123456",
        plan="pro-monthly",
        session_epoch=2,
        customer_id="cus_1",
        payment_method_id="pm_1",
        card=CardSummary("visa", "4242", 12, 2030, "Ada", "1000", "BE", "BE"),
        billing_address=Address("Ada", "1 rue", "Bruxelles", "1000", "BE", "bte 2", None),
        next_renewal_at=AT + timedelta(days=31),
        vat_id="BE0123456789",
        vat_status="valid",
        vat_checked_at=AT,
        vat_request_id="WAPIAAAAW1",
        email_verified=True,
        mfa_secret="JBSWY3DPEHPK3PXP",
        mfa_last_step=12345,
        recovery_codes=("a" * 64, "b" * 64),
        version=7,
    )
    retrying = Charge(
        id=OSS_INVOICE,
        account_id=ACTIVE,
        invoice_id=OSS_INVOICE,
        amount=3509,
        currency="EUR",
        state=ChargeState.PENDING,
        created_at=AT,
        attempts=2,
        first_failed_at=AT,
        next_retry_at=AT + timedelta(days=3),
        last_failure=DeclineInfo("card_declined", "insufficient_funds", "try_again_later"),
        last_failure_key="payment.declined.insufficient_funds",
        payment_intent_id="pi_1",
        attempt=Attempt(
            f"charge:{OSS_INVOICE}:attempt:2", (OSS_INVOICE,), 3509, "EUR", "pm_1", False, AT, "Pro"
        ),
        purpose=ChargePurpose.SUBSCRIBE,
        version=4,
    )
    paid = Charge(
        id=PAID_INVOICE,
        account_id=ACTIVE,
        invoice_id=PAID_INVOICE,
        amount=3509,
        currency="EUR",
        state=ChargeState.PAID,
        created_at=AT,
        attempts=1,
        payment_intent_id="pi_2",
        version=1,
    )
    pending_mail = OutboxMail(
        id="0195f1a2b3c6-mail1",
        to=f"active@{EMAIL_DOMAIN}",
        template="payment_failed",
        locale="fr",
        created_at=AT,
        params={"amount": "35,09 €"},
        account_id=ACTIVE,
        next_attempt_at=AT + timedelta(minutes=5),
        attempts=1,
    )
    failed_mail = OutboxMail(
        id="0195f1a2b3c7-mail2",
        to=f"trial@{EMAIL_DOMAIN}",
        template="trial_ending",
        locale="en",
        created_at=AT,
        status=MailStatus.FAILED,
        attempts=5,
        queued_at=AT - timedelta(days=1),
    )
    request = ReactivationRequest(
        id=f"{TRIAL}.0195f1a2b3c8aabbccdd",
        account_id=TRIAL,
        email=f"trial@{EMAIL_DOMAIN}",
        requested_at=AT,
        plan="pro-monthly",
        note="please",
        version=1,
    )
    return AccountChange(
        account=active,
        create=True,
        put_sessions=(
            Session(
                ACTIVE, "c" * 64, 2, AT, AT + timedelta(minutes=3), "10.0.0.9", user_agent="UA"
            ),
        ),
        counter=("invoice-2026-stored", 0),
        invoices=(
            (invoice(OSS_INVOICE, InvoiceStatus.OPEN, oss=True), None),
            (invoice(PAID_INVOICE, InvoiceStatus.PAID, oss=False), None),
        ),
        charges=((retrying, None), (paid, None)),
        work=(WorkItem(ACTIVE, "vat", AT + timedelta(days=30), 1),),
        markers=(
            Marker(MarkerKind.CUSTOMER, "cus_stored", ACTIVE, expires_at=None),
            Marker(
                MarkerKind.IDEMPOTENCY, "key-stored", '{"ok": true}', True, AT, account_id=ACTIVE
            ),
        ),
        requests=((request, None),),
        mails=(pending_mail, failed_mail),
        audit=(AuditEvent(ACTIVE, AT, "signup", "customer", "10.0.0.9", {"plan": "pro"}),),
        devices=(TrustedDevice(ACTIVE, "d" * 64, AT, AT, AT + timedelta(days=180)),),
        tokens=(
            AccountToken(
                ACTIVE,
                TokenPurpose.EMAIL_CHANGE,
                "e" * 64,
                AT,
                AT + timedelta(hours=1),
                2,
                "n@x.io",
            ),
        ),
    )


def trial_account() -> Account:
    """The second account (committed on its own: one ``create`` per change)."""
    return Account(
        id=TRIAL,
        email=f"trial@{EMAIL_DOMAIN}",
        name="Grace",
        country="FR",
        locale="en",
        password_hash="plain$pw2",
        created_at=AT,
        trial_ends_at=AT + timedelta(days=14),
        pending_email=f"grace@{EMAIL_DOMAIN}",
        mfa_pending_secret="KRSXG5CTMVRXEZLU",
    )


STORED_PKS = (
    f"ACCOUNT#{ACTIVE}",
    f"ACCOUNT#{TRIAL}",
    f"EMAIL#active@{EMAIL_DOMAIN}",
    f"EMAIL#trial@{EMAIL_DOMAIN}",
    "COUNTER#invoice-2026-stored",
    "CUSTOMER#cus_stored",
    "OUTBOX#0195f1a2b3c6-mail1",
    "OUTBOX#0195f1a2b3c7-mail2",
)
"""Every partition the samples write (the stored-format check reads them back raw)."""
