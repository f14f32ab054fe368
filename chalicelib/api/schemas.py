"""Request and response models (pydantic): the validation of every body and the source of
``/openapi.json``.

Requests forbid unknown fields (mass assignment, typos) and are strict about types (no
``"12"`` for ``12``).  This module is imported on the first request, not at cold start.

Cold start: every model is built on its first use (``defer_build``), so a request pays for
its own request model only (the response models are built by ``/openapi.json``), and
pydantic's plugin discovery (a scan of every installed distribution's entry points at the
first model built) is switched off: the app uses no pydantic plugin.
"""

from __future__ import annotations

import os
import unicodedata

from msgspec import Struct

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from chalicelib.domain import passwords, vat
from chalicelib.domain.countries import ISO_COUNTRIES
from chalicelib.domain.text import BIDI_CONTROLS, MULTILINE_ALLOWED, SEPARATORS, unsafe_character

NoControl = r"^[^\x00-\x1f\x7f]*$"


def _single_line(value: str) -> str:
    """Free text on one line: no control, bidi-override or separator character
    (``domain.text``); 400 ``validation_error`` naming the field."""
    if unsafe_character(value) is not None:
        raise PydanticCustomError("text_control_characters", "control or bidi character")
    return value


def _multi_line(value: str) -> str:
    """Free text on several lines: as :func:`_single_line`, line breaks and tabs allowed."""
    if unsafe_character(value, multiline=True) is not None:
        raise PydanticCustomError("text_control_characters", "control or bidi character")
    return value


def _refused_pattern(*, multiline: bool) -> str:
    """The JSON Schema ``pattern`` saying what :func:`unsafe_character` refuses."""
    refused = sorted(
        {
            *(c for c in map(chr, range(0xA0)) if unicodedata.category(c) == "Cc"),
            *BIDI_CONTROLS,
            *SEPARATORS,
        }
        - (MULTILINE_ALLOWED if multiline else set())
    )
    return "^[^" + "".join(f"\\u{ord(c):04x}" for c in refused) + "]*$"


class _Documented(Struct, frozen=True):
    """Adds a ``pattern`` to a field's JSON Schema only (the validator beside it enforces it,
    with its own message)."""

    pattern: str

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> Any:
        schema = handler(core)
        schema["pattern"] = self.pattern
        return schema


SafeLine = AfterValidator(_single_line)
SafeText = AfterValidator(_multi_line)
SafeLinePattern = _Documented(_refused_pattern(multiline=False))
SafeTextPattern = _Documented(_refused_pattern(multiline=True))


def _whole_number(value: Any) -> Any:
    """JSON has one number type: ``366.0`` is the integer 366 to JSON Schema (and to the
    document), so a strict integer field takes a float with no fraction as that integer."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)

Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=NoControl)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
NewPassword = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1024),
    # the policy (domain.passwords) answers its own 400 weak_password; the document says it
    WithJsonSchema(
        {
            "type": "string",
            "minLength": passwords.MIN_LENGTH,
            "maxLength": passwords.MAX_LENGTH,
            "description": "8 to 128 characters, not one of the 30,000 most common passwords",
        }
    ),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    SafeLine,
    SafeLinePattern,
]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=NoControl)]
Country = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2}$"),
    # an unknown code answers 400 invalid_country (domain.countries); lower case is accepted
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(ISO_COUNTRIES),
            "description": "ISO 3166-1 alpha-2 code",
        }
    ),
]
Locale = Literal["en", "fr"]
Timestamp = Annotated[str, Field(description="ISO 8601 UTC time with a Z suffix")]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- requests -------------------------------------------------------------------------------
class SignupRequest(RequestModel):
    email: Email
    password: NewPassword
    name: Name
    country: Country
    phone: Phone | None = None
    locale: Locale | None = None


DeviceToken = Annotated[
    str,
    StringConstraints(max_length=200),
    Field(description="the device_token of an earlier sign-in on this device"),
]


# Describes POST /login's body in /openapi.json; the route validates it with api.bodies.LoginBody
# (no pydantic on the sign-in path), which answers the same (tests/unit/test_light_bodies.py).
class LoginRequest(RequestModel):
    email: Annotated[str, StringConstraints(max_length=254)]
    password: Password
    device_token: DeviceToken | None = None
    otp: (
        Annotated[
            str,
            StringConstraints(max_length=20, pattern=NoControl),
            Field(description="with two-factor sign-in on: a TOTP code or an unused recovery code"),
        ]
        | None
    ) = None


class ProfilePatchRequest(RequestModel):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = Field(default=None, description="null or empty removes the number")
    locale: Locale | None = None
    current_password: Password | None = Field(
        default=None, description="required when email changes"
    )


class PasswordChangeRequest(RequestModel):
    current_password: Password
    new_password: NewPassword
    confirm_password: NewPassword = Field(description="the new password again")


Token = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NoControl)]


class ForgotPasswordRequest(RequestModel):
    email: Annotated[str, StringConstraints(max_length=254)]


class ResetPasswordRequest(RequestModel):
    token: Token
    new_password: NewPassword
    confirm_password: NewPassword = Field(description="the new password again")


class TokenRequest(RequestModel):
    token: Token


Code = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=NoControl)]


class MfaStartRequest(RequestModel):
    password: Password


class MfaConfirmRequest(RequestModel):
    code: Code


class MfaDisableRequest(RequestModel):
    password: Password
    code: Code


class MfaSetupResponse(ResponseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, an SVG data: URI")


class RecoveryCodesResponse(ResponseModel):
    recovery_codes: list[str] = Field(description="ten single-use codes, shown this once")


# --- responses ------------------------------------------------------------------------------
class SessionOut(ResponseModel):
    id: str
    created_at: Timestamp
    last_seen_at: Timestamp
    user_agent: str
    browser: str = Field(description="the browser and system the user agent names, or empty")
    current: bool


class SessionListResponse(ResponseModel):
    items: list[SessionOut]


class ActivityOut(ResponseModel):
    at: Timestamp
    event: str = Field(description="the event's code (login, login_failed, password_reset, ...)")
    label: str = Field(description="the event, in the answer's language")
    detail: str = Field(description="browser, address or change, in the answer's language")


class ActivityResponse(ResponseModel):
    items: list[ActivityOut]
    next_cursor: str | None


class ErrorDetail(ResponseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorResponse(ResponseModel):
    error: ErrorDetail


class HealthChecks(ResponseModel):
    dynamodb: Literal["ok", "down"]
    ses: Literal["ok", "down"]
    stripe: Literal["ok", "down"]


class HealthResponse(ResponseModel):
    """200 when every check is ``ok``; 503 (``degraded``) when one is ``down``."""

    status: Literal["ok", "degraded"]
    checks: HealthChecks


class PriceOut(ResponseModel):
    """What the customer pays for one period: net, VAT and total for its billing country."""

    net: int
    tax: int
    total: int
    currency: str
    rate: str
    country: str | None  # the member state whose VAT applies (None outside the EU VAT area)
    billing_country: str
    reverse_charge: bool
    withdrawal_consent: bool  # an EU consumer: subscribing asks to waive the withdrawal right


class PlanOut(ResponseModel):
    id: str
    name: str
    amount: int  # net (v1)
    currency: str
    interval: Literal["month", "year"]
    price: PriceOut
    per_seat: bool = Field(default=False, description="the amount is per agent seat")
    description: str | None = Field(default=None, description="in the request's language")


class PlansResponse(ResponseModel):
    items: list[PlanOut]


class VendorResponse(ResponseModel):
    name: str
    support_email: str
    vat_contact_email: str
    vat_number: str | None


class CountryOut(ResponseModel):
    code: str
    name: str
    vat_applicable: bool


class CountriesResponse(ResponseModel):
    items: list[CountryOut]


class AccountOut(ResponseModel):
    id: str
    email: str
    name: str
    phone: str | None
    phone_national: str | None = Field(
        default=None,
        description="the phone as written in the account's country (06 12 34 56 78), for display",
    )
    locale: Locale
    country: str
    status: Literal[
        "trial",
        "active",
        "past_due",
        "suspended",
        "cancelled",
        "reactivation_requested",
        "trial_expired",
    ]
    plan: str | None
    trial_ends_at: Timestamp | None
    created_at: Timestamp
    email_verified: bool = Field(description="the address was proven by a mailed link")
    pending_email: str | None = Field(
        description="an email change waiting for the new address to be confirmed"
    )
    mfa_enabled: bool = Field(description="sign-in asks for a TOTP code after the password")
    seats: int = Field(default=1, ge=1, description="agent seats of the plan")
    cancel_at: Timestamp | None = Field(
        default=None, description="the account is cancelled then (end of the paid period)"
    )


class SignedInResponse(ResponseModel):
    token: str
    account: AccountOut


class LoginNoticeOut(ResponseModel):
    code: Literal["trial_expired"]
    message: str = Field(description="what to do, in the answer's language")
    url: str = Field(description="where to do it (a console path)")


class LoginResponse(ResponseModel):
    token: str
    device_token: str = Field(
        description="keep it on this device and send it with the next sign-ins: that device "
        "then has its own sign-in throttle"
    )
    account: AccountOut
    pending_payment: PendingPaymentOut | None
    notice: LoginNoticeOut | None = Field(
        default=None, description="what the customer must do first (an ended trial: subscribe)"
    )


# --- billing ------------------------------------------------------------------------------
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    SafeLine,
    SafeLinePattern,
]
OptionalLine = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), SafeLine, SafeLinePattern
]
PostalCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=20, pattern=r"^[A-Za-z0-9 -]+$"
    ),
]


class AddressRequest(RequestModel):
    name: Name
    line1: Line
    line2: OptionalLine | None = None
    city: Line
    postal_code: PostalCode
    state: OptionalLine | None = None
    country: Country


class CardRequest(RequestModel):
    payment_method_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CardPatchRequest(RequestModel):
    exp_month: Annotated[int, Field(ge=1, le=12), WholeNumber] | None = None
    exp_year: Annotated[int, Field(ge=2000, le=2100), WholeNumber] | None = None
    name: Name | None = None
    postal_code: PostalCode | None = None
    country: Country | None = None
    line1: Line | None = None
    city: Line | None = None


Seats = Annotated[int, Field(ge=1, le=10_000), WholeNumber]


class SubscriptionChangeRequest(RequestModel):
    plan: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    seats: Seats | None = None


class AmountsOut(ResponseModel):
    net: int
    tax: int
    total: int
    currency: str


class RenewalAmountsOut(AmountsOut):
    at: Timestamp


class PreviewLineOut(ResponseModel):
    kind: Literal["remaining", "unused", "period"]
    description: str
    quantity: int
    unit_amount: int
    amount: int = Field(description="net, minor units; negative for the unused time credited")
    plan: str
    seats: int
    period_start: Timestamp
    period_end: Timestamp


class PreviewResponse(ResponseModel):
    effective: Literal["now", "renewal", "none"] = Field(
        description="now: an upgrade charged at once; renewal: applied at the next renewal"
    )
    plan: str
    seats: int
    now: AmountsOut
    next_renewal: RenewalAmountsOut
    lines: list[PreviewLineOut]


class ScheduledChangeOut(ResponseModel):
    plan: str
    seats: int
    at: Timestamp


class SubscribeRequest(RequestModel):
    plan: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    # agent seats (per-seat plans are priced per seat); default: the account's seats
    seats: Seats | None = None
    # the total (VAT included, minor units) the customer confirmed: 409 price_changed if not
    expected_total: Annotated[int, Field(strict=True, ge=0, le=100_000_000), WholeNumber] | None = (
        None
    )
    # an EU consumer asks for the service at once, waiving the 14-day right of withdrawal
    withdrawal_consent: Annotated[bool, Field(strict=True)] = False


class MoneyOut(ResponseModel):
    amount: int
    currency: str


class CardOut(ResponseModel):
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    name: str | None
    postal_code: str | None
    country: str | None
    issuer_country: str | None = None
    line1: str | None = Field(default=None, description="the billing address's street")
    city: str | None = Field(default=None, description="the billing address's city")
    pending_payment: PendingPaymentOut | None = None


class CardSetupOut(ResponseModel):
    client_secret: str


class SavedCardOut(ResponseModel):
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    default: bool
    expired: bool


class SavedCardListOut(ResponseModel):
    items: list[SavedCardOut]


class AddressOut(ResponseModel):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    state: str | None
    country: str


class VatOut(ResponseModel):
    applicable: bool
    vat_id: str | None
    status: Literal["pending", "valid", "invalid"] | None
    notice: str | None = Field(default=None, description="why the VAT ID was set aside")


class VatRequest(RequestModel):
    vat_id: Annotated[
        str,
        StringConstraints(max_length=4096),
        # longer answers 400 vat_id_too_long, empty vat_id_required (domain.vat)
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": vat.MAX_RAW_LENGTH,
                "description": "with or without the country prefix; spaces, dots, dashes allowed",
            }
        ),
    ]


class FailureOut(ResponseModel):
    code: str
    message: str


class PendingItemOut(ResponseModel):
    invoice_id: str
    amount: int
    currency: str
    since: Timestamp
    attempts: int
    next_retry_at: Timestamp | None
    suspends_at: Timestamp | None = None
    last_failure: FailureOut | None


class PendingPaymentOut(ResponseModel):
    items: list[PendingItemOut]
    total: MoneyOut


class BillingResponse(ResponseModel):
    status: str
    plan: str | None
    next_renewal_at: Timestamp | None
    currency: str
    card: CardOut | None
    billing_address: AddressOut | None
    vat: VatOut
    pending_payment: PendingPaymentOut | None
    seats: int = 1
    cancel_at: Timestamp | None = None
    scheduled_change: ScheduledChangeOut | None = None
    invoice_id: str | None = Field(
        default=None, description="PATCH /billing/subscription: the upgrade's invoice"
    )


class RequiresActionOut(ResponseModel):
    client_secret: str | None


class PayResponse(ResponseModel):
    paid: list[str] | None = None
    billing: BillingResponse | None = None
    requires_action: RequiresActionOut | None = None


InvoiceStatusOut = Literal["paid", "open", "void", "credited", "disputed"]


class InvoiceSummaryOut(ResponseModel):
    id: str
    number: str
    status: InvoiceStatusOut
    issued_at: Timestamp
    total: int
    currency: str


class InvoiceListResponse(ResponseModel):
    items: list[InvoiceSummaryOut]
    next_cursor: str | None


class InvoiceLineOut(ResponseModel):
    description: str
    quantity: int
    unit_amount: int
    amount: int


class TaxOut(ResponseModel):
    rate: str
    amount: int
    reverse_charge: bool
    mention: str | None
    country: str | None  # the member state whose VAT applies (None outside the EU VAT area)
    scheme: Literal["domestic", "oss", "reverse_charge", "outside_scope"] | None
    exemption_reason: str | None  # why a 0 % rate applies, in the request's language


class PartyOut(ResponseModel):
    name: str
    address: AddressOut | None
    vat_id: str | None


class SellerOut(PartyOut):
    legal_id: str | None  # SIREN
    legal_form: str | None
    share_capital: MoneyOut | None
    registration: str | None  # "RCS Paris 999 999 998"


class TransactionCardOut(ResponseModel):
    brand: str | None
    last4: str | None


class TransactionOut(ResponseModel):
    id: str
    at: Timestamp
    amount: int
    status: str
    card: TransactionCardOut
    failure: FailureOut | None


class InvoiceResponse(ResponseModel):
    id: str
    number: str
    status: InvoiceStatusOut
    issued_at: Timestamp
    period_start: Timestamp
    period_end: Timestamp
    lines: list[InvoiceLineOut]
    subtotal: int
    tax: TaxOut
    total: int
    currency: str
    customer: PartyOut
    seller: SellerOut
    legal_notices: list[str]
    withdrawal_waived_at: Timestamp | None  # an EU consumer waived the 14-day withdrawal right
    transactions: list[TransactionOut]


# --- credit notes and refunds ----------------------------------------------------------------
CreditReasonOut = Literal[  # domain.credit_notes.CreditReason
    "first_payment_failed", "account_cancelled", "period_replaced", "refund", "refunded_at_stripe"
]


class RefundOut(ResponseModel):
    status: Literal["pending", "succeeded", "failed"]
    amount: int


class CreditNoteSummaryOut(ResponseModel):
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    issued_at: Timestamp
    reason: CreditReasonOut
    total: int
    currency: str
    refund: RefundOut | None


class CreditNoteListResponse(ResponseModel):
    items: list[CreditNoteSummaryOut]
    next_cursor: str | None


class CreditNoteResponse(CreditNoteSummaryOut):
    reason_text: str  # the reason in the request's language
    note: str | None  # support's own words, for a refund
    lines: list[InvoiceLineOut]
    subtotal: int
    tax: TaxOut
    customer: PartyOut
    seller: SellerOut
    legal_notices: list[str]


class RefundRequest(RequestModel):
    amount: Annotated[int, Field(strict=True, ge=1, le=100_000_000), WholeNumber] | None = None
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=500), SafeText, SafeTextPattern
    ]


# --- cancel, reactivate, support ------------------------------------------------------------
CancelReason = Literal[  # domain.lifecycle.CANCEL_REASONS
    "too_expensive", "not_using", "missing_features", "switching", "technical_issues", "other"
]
Comment = Annotated[
    str, StringConstraints(max_length=1000), SafeText, SafeTextPattern
]  # line breaks allowed


class CancelRequest(RequestModel):
    password: Password
    reason: CancelReason | None = None
    comment: Comment | None = None
    at: Literal["now", "period_end"] = "now"


class ReactivateRequest(RequestModel):
    email: Annotated[str, StringConstraints(max_length=254)]
    password: Password


class ReactivationRequestedResponse(ResponseModel):
    status: Literal["reactivation_requested"]
    request_id: str


class ReactivationRequestOut(ResponseModel):
    id: str
    account_id: str
    email: str
    requested_at: Timestamp
    status: Literal["open", "approved", "rejected"]


class ReactivationRequestList(ResponseModel):
    items: list[ReactivationRequestOut]


class SupportDecisionRequest(RequestModel):
    note: Comment | None = Field(default=None, description="why, kept in the audit trail")


class SupportDecisionResponse(ResponseModel):
    request: ReactivationRequestOut
    account: AccountOut


# --- test clock (local stage only) -----------------------------------------------------------
class TestClockRequest(RequestModel):
    now: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="ISO 8601 time to freeze the local stack at, e.g. 2026-12-01T09:00:00Z"
    )


class TestClockResponse(ResponseModel):
    now: Timestamp
    frozen: bool


LoginResponse.model_rebuild()
CardOut.model_rebuild()
