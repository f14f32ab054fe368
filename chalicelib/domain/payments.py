"""Payments: what the service knows about a card and a charge, and what a decline means.

Card data never reaches this service (ST7): a card is a Stripe PaymentMethod id plus the
:class:`CardSummary` Stripe gives back (brand, last four digits, expiry, billing name, postal
code and country, and the country that issued it).  :meth:`CardSummary.check_usable` is the
one rule refusing an expired card (``400 card_expired``) when it is saved, edited or charged.
A charge attempt ends in a :class:`ChargeOutcome`: ``succeeded``, ``requires_action`` (the
bank wants the customer to authenticate, on-session), ``declined`` (with the issuer's
:class:`DeclineInfo`) or ``unknown`` (Stripe has not settled it yet).

What a decline means is decided here, once, by :func:`decline_guidance`, from Stripe's error
``code``, ``decline_code`` and ``advice_code`` (never from message text, which Stripe may change
and which must not reach customers, AZ5):

* ``message_key``: the i18n key of the sentence telling the customer what to do (check the
  number or expiry, the security code, the billing address, call the bank, use another card);
* ``decline_class`` (:class:`DeclineClass`), one per code (:data:`DECLINE_TABLE`, every code
  of Stripe's "Decline codes" page): ``soft`` (retry on the schedule), ``hard`` (stop retries;
  the account is suspended after ``HARD_DECLINE_GRACE_DAYS`` unless the card changes),
  ``revoked`` (the cardholder revoked the authorisation: stop retries and renewal) or
  ``needs_customer`` (the bank wants the customer to authenticate).  The issuer's
  ``advice_code`` comes after the code (``try_again_later`` softens a hard code,
  ``do_not_try_again`` and ``confirm_card_data`` harden a soft one) except for revocations,
  authentication and the fraud codes, which no advice changes; ``hard`` is "not soft";
* ``public_code``: the code shown to the customer.  Codes that reveal fraud suspicion
  (``fraudulent``, ``lost_card``, ``stolen_card``, ``pickup_card``, ``merchant_blacklist``, ST6)
  and codes not in the table are shown as the generic ``card_declined``.

The payment errors subclass :mod:`chalicelib.domain.errors` so the API maps them to statuses:
:class:`CardDeclined` (402, carries the guidance and a ``message_key`` attribute the error
renderer translates instead of the bare code), :class:`PaymentMethodInvalid` (400),
:class:`PaymentGatewayUnavailable` (503, the request was not processed) and
:class:`PaymentRequestRejected` (500, Stripe refused a request the service should never have
made).  :class:`PaymentOutcomeUnknown` is deliberately *not* a client error: a timeout after the
charge request may have reached Stripe is neither success nor failure, and the caller must
reconcile it (same idempotency key, or the PaymentIntent looked up), never charge again (ST4).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

from chalicelib.domain.errors import (
    DependencyUnavailable,
    InternalError,
    InvalidInput,
    PaymentFailed,
)

ChargeStatus = Literal["succeeded", "requires_action", "declined", "unknown"]

GENERIC_DECLINE_KEY = "card_declined"
GENERIC_PUBLIC_CODE = "card_declined"


class CardSummary(Struct, frozen=True):
    """The card on file as Stripe describes it: never the number, never the security code."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    name: str | None = None
    postal_code: str | None = None
    country: str | None = None  # the billing address's country (editable)
    issuer_country: str | None = None  # where the card was issued (Stripe's ``card.country``)
    line1: str | None = None  # the billing address's street (editable)
    city: str | None = None  # the billing address's city (editable)

    def is_expired(self, now: datetime) -> bool:
        """True once the expiry month is over (a card is valid through its last day)."""
        return (self.exp_year, self.exp_month) < (now.year, now.month)

    def check_usable(self, now: datetime) -> None:
        """The one rule for an expired card: ``400 card_expired`` wherever one is given."""
        if self.is_expired(now):
            raise InvalidInput("card_expired", fields={"exp_year": "card_expired"})

    def as_dict(self) -> dict[str, Any]:
        """The contract's ``card`` object."""
        return {
            "brand": self.brand,
            "last4": self.last4,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "name": self.name,
            "postal_code": self.postal_code,
            "country": self.country,
            "issuer_country": self.issuer_country,
            "line1": self.line1,
            "city": self.city,
        }


class SavedCard(Struct, frozen=True):
    """A card saved with the account's Stripe customer (a PaymentMethod attached to it):
    the card on file is one of them, the *default*; the others can become it or be removed."""

    id: str  # the PaymentMethod id
    card: CardSummary

    def as_dict(self, default_id: str | None, now: datetime) -> dict[str, Any]:
        """An item of ``GET /billing/cards``."""
        return {
            "id": self.id,
            "brand": self.card.brand,
            "last4": self.card.last4,
            "exp_month": self.card.exp_month,
            "exp_year": self.card.exp_year,
            "default": self.id == default_id,
            "expired": self.card.is_expired(now),
        }


class MalformedEvent(InvalidInput):
    """A signed webhook event whose shape is not Stripe's (400 ``invalid_event``): the
    ``reason`` and the event's id, when it has a usable one, are recorded as rejected."""

    DEFAULT_CODE = "invalid_event"

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(extra={"reason": reason})
        self.reason = reason
        self.event_id = event_id


class PaymentEvent(Struct, frozen=True):
    """A verified Stripe event, parsed: only what the service acts on.

    ``object_id`` is the id of ``data.object`` (a PaymentIntent, PaymentMethod, Charge or
    Dispute); ``account_id`` and ``charge_ids`` come from a PaymentIntent's metadata,
    ``customer_id`` and ``card`` from a PaymentMethod, ``payment_intent_id`` from a Charge or a
    Dispute.
    """

    id: str
    type: str
    object_id: str | None = None
    account_id: str | None = None
    charge_ids: tuple[str, ...] = ()
    customer_id: str | None = None
    card: CardSummary | None = None
    payment_intent_id: str | None = None
    amount_refunded: int | None = None  # a Charge's (``charge.refunded``), minor units
    credit_note_id: str | None = None  # a Refund's metadata (``REFUND_EVENTS``)
    refund: RefundOutcome | None = None  # a Refund's status (``REFUND_EVENTS``)


REFUND_EVENTS = ("refund.updated", "refund.failed", "charge.refund.updated")
"""Events whose object is a Refund: its status changed at Stripe."""


class DeclineClass(enum.StrEnum):
    """What a decline means for the retry schedule (one class per code, see the table)."""

    SOFT = "soft"  # the same card may work later: retry on the schedule
    HARD = "hard"  # this card will not work: stop retries, suspend after the grace period
    REVOKED = "revoked"  # the cardholder revoked the authorisation: stop retries and renewal
    NEEDS_CUSTOMER = "needs_customer"  # the bank wants the customer (authentication)

    @property
    def stops_retries(self) -> bool:
        return self is not DeclineClass.SOFT


class Guidance(Struct, frozen=True):
    """What a decline means for the customer and for the retry schedule."""

    message_key: str
    hard: bool
    public_code: str
    decline_class: DeclineClass = DeclineClass.SOFT


class DeclineInfo(Struct, frozen=True):
    """The issuer's answer, as Stripe reports it (``code``, ``decline_code``, ``advice_code``)."""

    code: str
    decline_code: str | None = None
    advice_code: str | None = None

    @property
    def guidance(self) -> Guidance:
        return decline_guidance(self.code, self.decline_code, self.advice_code)


class RefundOutcome(Struct, frozen=True):
    """How one refund request ended: ``succeeded``, ``pending`` (Stripe has not settled it
    yet: it will) or ``failed`` (no money went back; ``failure_code`` says why)."""

    status: str
    refund_id: str | None = None
    amount: int = 0
    failure_code: str | None = None


def best_refund(found: Sequence[RefundOutcome]) -> RefundOutcome | None:
    """Of the refunds made for one credit note: a succeeded one, else a pending one."""
    rank = {"succeeded": 0, "pending": 1}
    return sorted(found, key=lambda o: rank.get(o.status, 2))[0] if found else None


class ChargeOutcome(Struct, frozen=True):
    """How one charge attempt (one PaymentIntent) ended, as far as Stripe has told us."""

    status: ChargeStatus
    payment_intent_id: str | None = None
    client_secret: str | None = None  # only for requires_action: Stripe.js finishes with it
    card: CardSummary | None = None
    failure: DeclineInfo | None = None  # only for declined

    @property
    def guidance(self) -> Guidance | None:
        return self.failure.guidance if self.failure is not None else None


# --- the decline table ---------------------------------------------------------------------
#
# Every decline code of Stripe's "Decline codes" page (and the card-detail error codes), with
# the class it belongs to and the i18n key of what the customer can do.  ``None`` as message
# means the generic text (the fraud codes, ST6, and codes that say nothing more useful).

_S, _H, _R, _N = (
    DeclineClass.SOFT,
    DeclineClass.HARD,
    DeclineClass.REVOKED,
    DeclineClass.NEEDS_CUSTOMER,
)
_CHECK_CARD = "decline.check_card_details"
_CHECK_CVC = "decline.check_cvc"
_CHECK_ADDRESS = "decline.check_address"
_CALL_BANK = "decline.call_bank"
_ANOTHER_CARD = "decline.use_another_card"
_TRY_LATER = "decline.try_again_later"
_PIN = "decline.pin_required"

DECLINE_TABLE: dict[str, tuple[DeclineClass, str | None]] = {
    "authentication_required": (_N, "decline.authentication_required"),
    "approve_with_id": (_S, "decline.approve_with_id"),
    "call_issuer": (_H, "decline.call_issuer"),
    "card_not_supported": (_H, "decline.card_not_supported"),
    "card_velocity_exceeded": (_S, "decline.card_velocity_exceeded"),
    "currency_not_supported": (_H, "decline.currency_not_supported"),
    "do_not_honor": (_S, _CALL_BANK),
    "do_not_try_again": (_H, _CALL_BANK),
    "duplicate_transaction": (_S, "decline.duplicate_transaction"),
    "expired_card": (_H, _CHECK_CARD),
    "fraudulent": (_H, None),
    "generic_decline": (_S, None),
    "incorrect_number": (_H, _CHECK_CARD),
    "incorrect_cvc": (_H, _CHECK_CVC),
    "incorrect_pin": (_H, _PIN),
    "incorrect_zip": (_H, _CHECK_ADDRESS),
    "incorrect_address": (_H, _CHECK_ADDRESS),
    "insufficient_funds": (_S, "decline.insufficient_funds"),
    "invalid_account": (_H, "decline.invalid_account"),
    "invalid_amount": (_H, _CALL_BANK),
    "invalid_cvc": (_H, _CHECK_CVC),
    "invalid_expiry_month": (_H, _CHECK_CARD),
    "invalid_expiry_year": (_H, _CHECK_CARD),
    "invalid_number": (_H, _CHECK_CARD),
    "invalid_pin": (_H, _PIN),
    "issuer_not_available": (_S, "decline.issuer_not_available"),
    "lost_card": (_H, None),
    "merchant_blacklist": (_H, None),
    "new_account_information_available": (_H, "decline.new_account_information"),
    "no_action_taken": (_H, _CALL_BANK),
    "not_permitted": (_H, _CALL_BANK),
    "offline_pin_required": (_H, _PIN),
    "online_or_offline_pin_required": (_H, _PIN),
    "pickup_card": (_H, None),
    "pin_try_exceeded": (_H, "decline.pin_try_exceeded"),
    "processing_error": (_S, "decline.processing_error"),
    "reenter_transaction": (_S, _TRY_LATER),
    "restricted_card": (_H, _ANOTHER_CARD),
    "revocation_of_all_authorizations": (_R, "decline.revoked"),
    "revocation_of_authorization": (_R, "decline.revoked"),
    "security_violation": (_H, _ANOTHER_CARD),
    "service_not_allowed": (_H, _CALL_BANK),
    "stolen_card": (_H, None),
    "stop_payment_order": (_R, "decline.revoked"),
    "testmode_decline": (_H, _ANOTHER_CARD),
    "transaction_not_allowed": (_H, _ANOTHER_CARD),
    "try_again_later": (_S, _TRY_LATER),
    "withdrawal_count_limit_exceeded": (_S, "decline.withdrawal_count_limit_exceeded"),
    # error codes (not decline codes) that end a PaymentIntent attempt
    "payment_intent_authentication_failure": (_N, "decline.authentication_required"),
    "payment_intent_canceled": (_S, None),
}

# Shown as the generic decline (never reveal fraud suspicion), but retries must stop.
FRAUD_CODES = frozenset(
    {"fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist"}
)

# Stripe's ``advice_code``: what the issuer suggests, applied after the code's own class.
ADVICE_CLASSES: dict[str, DeclineClass] = {
    "try_again_later": DeclineClass.SOFT,
    "do_not_try_again": DeclineClass.HARD,
    "confirm_card_data": DeclineClass.HARD,  # the customer must re-enter or update the card
}

# Codes that are too vague to guide anything: look at the other code instead.
_VAGUE = frozenset({"card_declined", "generic_decline"})


def _deciding_code(code: str | None, decline_code: str | None) -> str | None:
    """The most specific of Stripe's two codes (``decline_code`` when it says something)."""
    for candidate in (decline_code, code):
        if candidate and candidate not in _VAGUE:
            return candidate
    return None


def decline_class(
    code: str | None, decline_code: str | None = None, advice_code: str | None = None
) -> DeclineClass:
    """The class of a decline: the code's own, then the issuer's advice.

    Revocations and the fraud codes never become soft (card networks forbid re-attempting
    them); authentication always needs the customer; otherwise ``advice_code`` decides when
    present (``try_again_later`` keeps retrying, ``do_not_try_again`` and
    ``confirm_card_data`` stop).  Unknown codes are soft: the schedule is bounded anyway.
    """
    deciding = _deciding_code(code, decline_code)
    own, _ = DECLINE_TABLE.get(deciding or "", (DeclineClass.SOFT, None))
    if own in (DeclineClass.REVOKED, DeclineClass.NEEDS_CUSTOMER) or deciding in FRAUD_CODES:
        return own
    return ADVICE_CLASSES.get(advice_code or "", own)


def decline_guidance(
    code: str | None, decline_code: str | None = None, advice_code: str | None = None
) -> Guidance:
    """What to tell the customer about this decline and whether retries must stop."""
    deciding = _deciding_code(code, decline_code)
    _, message = DECLINE_TABLE.get(deciding or "", (DeclineClass.SOFT, None))
    if deciding in FRAUD_CODES or message is None:
        message_key, public_code = GENERIC_DECLINE_KEY, GENERIC_PUBLIC_CODE
    else:
        assert deciding is not None
        message_key, public_code = message, deciding
    klass = decline_class(code, decline_code, advice_code)
    return Guidance(
        message_key=message_key,
        hard=klass.stops_retries,
        public_code=public_code,
        decline_class=klass,
    )


# --- PaymentMethod ids -----------------------------------------------------------------------

_PAYMENT_METHOD_ID = re.compile(r"pm_[A-Za-z0-9_]{1,250}")
_DIGIT_RUN = re.compile(r"[0-9][0-9 \-]{11,}[0-9]")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    """True when ``value`` holds 13 to 19 digits (spaces and dashes allowed) passing Luhn.

    Real Stripe ids are random base-62, so one holding such a run is vanishingly unlikely.
    """
    for match in _DIGIT_RUN.finditer(value):
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        if 13 <= len(digits) <= 19 and _luhn_valid(digits):
            return True
    return False


def check_payment_method_id(value: str) -> str:
    """``value`` when it is a well-formed PaymentMethod id, else :class:`PaymentMethodInvalid`.

    Card-number-like input is refused without ever being echoed or sent anywhere (ST7).
    """
    if not isinstance(value, str) or looks_like_card_number(value):
        raise PaymentMethodInvalid(reason="card_number_like")
    if not _PAYMENT_METHOD_ID.fullmatch(value):
        raise PaymentMethodInvalid(reason="malformed")
    return value


# --- errors ------------------------------------------------------------------------------


class CardDeclined(PaymentFailed):
    """The issuer refused the card (402 ``card_declined``).

    The body's ``message`` must say what to do, so the renderer translates
    :attr:`message_key` (the guidance's key) rather than ``code``; ``decline_code`` in the
    error object is the public code (generic for fraud-revealing codes).
    """

    DEFAULT_CODE = "card_declined"

    def __init__(self, decline: DeclineInfo, *, payment_intent_id: str | None = None) -> None:
        self.decline = decline
        self.guidance = decline.guidance
        self.message_key = self.guidance.message_key
        self.payment_intent_id = payment_intent_id
        super().__init__(self.DEFAULT_CODE, extra={"decline_code": self.guidance.public_code})


class PaymentMethodInvalid(InvalidInput):
    """No such PaymentMethod, one of another customer, not a card, or card-number-like input.

    ``reason`` is for logs only (``missing``, ``other_customer``, ``not_a_card``,
    ``malformed``, ``card_number_like``); clients see ``invalid_payment_method``.
    """

    DEFAULT_CODE = "invalid_payment_method"

    def __init__(self, *, reason: str = "missing", field: str | None = None) -> None:
        self.reason = reason
        fields = {field: self.DEFAULT_CODE} if field else None
        super().__init__(self.DEFAULT_CODE, fields=fields)


class PaymentGatewayUnavailable(DependencyUnavailable):
    """Stripe could not be used and the request was not processed (503; retry later).

    ``reason``: ``connection``, ``rate_limited``, ``server_error`` or ``configuration``.
    """

    def __init__(self, *, reason: str) -> None:
        self.reason = reason
        super().__init__()


class PaymentRequestRejected(InternalError):
    """Stripe refused a request as malformed (a bug or a misuse of an idempotency key)."""

    def __init__(self, *, stripe_code: str | None) -> None:
        self.stripe_code = stripe_code
        super().__init__()


class PaymentOutcomeUnknown(Exception):
    """A charge request may have reached Stripe but no answer came back (timeout, 5xx).

    Never treat it as a failure: replay the request with the same ``idempotency_key`` (Stripe
    answers with the original result for 24 hours) or look the PaymentIntent up.
    """

    def __init__(self, *, idempotency_key: str, reason: str) -> None:
        self.idempotency_key = idempotency_key
        self.reason = reason
        super().__init__(f"payment outcome unknown ({reason})")
