"""Payments: what the service knows about a card and a charge, and what a decline means.

Card data never reaches this service (ST7): a card is a Stripe PaymentMethod id plus the
:class:`CardSummary` Stripe gives back (brand, last four digits, expiry, billing name, postal
code and country).  A charge attempt ends in a :class:`ChargeOutcome`: ``succeeded``,
``requires_action`` (the bank wants the customer to authenticate, on-session), ``declined``
(with the issuer's :class:`DeclineInfo`) or ``unknown`` (Stripe has not settled it yet).

What a decline means is decided here, once, by :func:`decline_guidance`, from Stripe's error
``code``, ``decline_code`` and ``advice_code`` (never from message text, which Stripe may change
and which must not reach customers, AZ5):

* ``message_key``: the i18n key of the sentence telling the customer what to do (check the
  number or expiry, the security code, the billing address, call the bank, use another card);
* ``hard``: whether automatic retries must stop.  The issuer's advice comes first
  (``do_not_try_again`` and ``confirm_card_data`` stop, ``try_again_later`` keeps retrying);
  without advice the decline code decides (a wrong number, an expired or invalid expiry,
  ``authentication_required`` are hard).  The fraud codes (lost, stolen, ...) are hard even
  against a ``try_again_later`` advice: card networks forbid re-attempting them;
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

import re
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.domain.errors import (
    DependencyUnavailable,
    InternalError,
    InvalidInput,
    PaymentFailed,
)

ChargeStatus = Literal["succeeded", "requires_action", "declined", "unknown"]

GENERIC_DECLINE_KEY = "card_declined"
GENERIC_PUBLIC_CODE = "card_declined"


@dataclass(frozen=True)
class CardSummary:
    """The card on file as Stripe describes it: never the number, never the security code."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int
    name: str | None = None
    postal_code: str | None = None
    country: str | None = None  # of the billing details the customer typed
    issuer_country: str | None = None  # where the card was issued (Stripe's card.country)

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
        }


@dataclass(frozen=True)
class Guidance:
    """What a decline means for the customer and for the retry schedule."""

    message_key: str
    hard: bool
    public_code: str


@dataclass(frozen=True)
class DeclineInfo:
    """The issuer's answer, as Stripe reports it (``code``, ``decline_code``, ``advice_code``)."""

    code: str
    decline_code: str | None = None
    advice_code: str | None = None

    @property
    def guidance(self) -> Guidance:
        return decline_guidance(self.code, self.decline_code, self.advice_code)


@dataclass(frozen=True)
class ChargeOutcome:
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

_CHECK_CARD = "decline.check_card_details"
_CHECK_CVC = "decline.check_cvc"
_CHECK_ADDRESS = "decline.check_address"

# decline or error code -> i18n key of what the customer can do
_MESSAGE_BY_CODE: dict[str, str] = {
    "incorrect_number": _CHECK_CARD,
    "invalid_number": _CHECK_CARD,
    "invalid_expiry_month": _CHECK_CARD,
    "invalid_expiry_year": _CHECK_CARD,
    "expired_card": _CHECK_CARD,
    "incorrect_cvc": _CHECK_CVC,
    "invalid_cvc": _CHECK_CVC,
    "incorrect_zip": _CHECK_ADDRESS,
    "incorrect_address": _CHECK_ADDRESS,
    "insufficient_funds": "decline.insufficient_funds",
    "authentication_required": "decline.authentication_required",
    "card_not_supported": "decline.card_not_supported",
    "do_not_honor": "decline.call_bank",
}

# Shown as the generic decline (never reveal fraud suspicion), but retries must stop.
FRAUD_CODES = frozenset(
    {"fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist"}
)

# Retrying the same card cannot succeed (without issuer advice saying otherwise).
_HARD_CODES = frozenset(
    {
        "incorrect_number",
        "invalid_number",
        "expired_card",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "authentication_required",
        "do_not_try_again",  # also exists as a decline code
        *FRAUD_CODES,
    }
)

_HARD_ADVICE = frozenset({"do_not_try_again", "confirm_card_data"})
_SOFT_ADVICE = frozenset({"try_again_later"})

# Codes that are too vague to guide anything: look at the other code instead.
_VAGUE = frozenset({"card_declined", "generic_decline"})


def _deciding_code(code: str | None, decline_code: str | None) -> str | None:
    """The most specific of Stripe's two codes (``decline_code`` when it says something)."""
    for candidate in (decline_code, code):
        if candidate and candidate not in _VAGUE:
            return candidate
    return None


def decline_guidance(
    code: str | None, decline_code: str | None = None, advice_code: str | None = None
) -> Guidance:
    """What to tell the customer about this decline and whether retries must stop."""
    deciding = _deciding_code(code, decline_code)
    if deciding in FRAUD_CODES or deciding not in _MESSAGE_BY_CODE:
        message_key, public_code = GENERIC_DECLINE_KEY, GENERIC_PUBLIC_CODE
    else:
        message_key, public_code = _MESSAGE_BY_CODE[deciding], deciding
    if advice_code in _HARD_ADVICE or deciding in FRAUD_CODES:
        hard = True  # a lost or stolen card is never retried, whatever the advice
    elif advice_code in _SOFT_ADVICE:
        hard = False
    else:
        hard = deciding in _HARD_CODES
    return Guidance(message_key=message_key, hard=hard, public_code=public_code)


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
