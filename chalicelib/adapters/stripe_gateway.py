"""StripeGateway: the payment-gateway port over stripe-python's ``StripeClient``.

The one place the service talks to Stripe, and the one place Stripe's errors are translated
into the domain's (as aws/chalice ``awsclient.py`` does for boto3).  Translation is keyed on
the exception *type* stripe-python raises (chosen from the HTTP status) and on the error's
``code`` / ``decline_code`` / ``advice_code`` / ``param``, never on message text:

==========================================  ===========================  =====================
stripe-python error                         ``charge``                   other operations
==========================================  ===========================  =====================
CardError (402), or a card-detail ``code``  ``declined`` outcome         CardDeclined
InvalidRequestError about the PaymentMethod PaymentMethodInvalid         PaymentMethodInvalid
  (``resource_missing``/404, param ``payment_method``)
other InvalidRequestError, IdempotencyError PaymentRequestRejected       PaymentRequestRejected
RateLimitError (429: not processed)         PaymentGatewayUnavailable    PaymentGatewayUnavailable
AuthenticationError, PermissionError        PaymentGatewayUnavailable    PaymentGatewayUnavailable
APIConnectionError (timeout, reset)         PaymentOutcomeUnknown        PaymentGatewayUnavailable
APIError (5xx, 409 after retries)           PaymentOutcomeUnknown        PaymentGatewayUnavailable
==========================================  ===========================  =====================

A charge that times out or gets a 5xx may have been processed, so it is "unknown" (ST4) even
when the last attempt was refused at connect time: stripe-python retries connection errors and
5xx itself (``max_network_retries``, with the caller's idempotency key, so a retry is Stripe's
replay and never a second charge), and an earlier attempt may have gone through.  A 429 was
not processed and is not retried by stripe-python; the caller backs off (ST3).

Cards are saved through a SetupIntent (``usage=off_session``,
:meth:`StripeGateway.create_card_setup`) that Stripe.js confirms in the browser, and on-session
charges (the customer is present) set ``setup_future_usage=off_session``, so the bank has seen
the customer authenticate for the renewals that follow.  Off-session charges confirm with
``off_session=True, confirm=True`` (ST5).  Stripe answers a bank's authentication request on
an off-session charge with a 402 ``authentication_required``; should a PaymentIntent come back
``requires_action`` anyway (localstripe does this) the outcome is the same hard decline, so
callers see one behaviour.

Timeouts are explicit (connect 2 s, read 7 s by default, so that three attempts and the
backoff between them fit in API Gateway's 29 s; :attr:`StripeGateway.worst_case_seconds` tells
a job whether a call still fits in the Lambda's remaining time, JB3).  stripe is imported when
the client is first needed, never at module import (cold start), and telemetry is off.

Local stack: localstripe rejects ``description`` on PaymentIntents, so on the ``local`` stage
the description travels in ``metadata["description"]`` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeGuard, cast

from chalicelib.config import Settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.jsonbody import decode_json
from chalicelib.domain.payments import (
    REFUND_EVENTS,
    CardDeclined,
    CardSummary,
    ChargeOutcome,
    DeclineInfo,
    MalformedEvent,
    PaymentEvent,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
    PaymentOutcomeUnknown,
    PaymentRequestRejected,
    RefundOutcome,
    SavedCard,
    best_refund,
    check_payment_method_id,
)
from chalicelib.logs import log_event

if TYPE_CHECKING:
    from stripe import StripeClient, StripeError

Operation = Literal[
    "customer",
    "attach",
    "update",
    "get",
    "setup",
    "charge",
    "find",
    "ping",
    "list",
    "detach",
    "refund",
]

# Error codes that describe the card itself: a decline whatever the HTTP status.
_CARD_PROBLEM_CODES = frozenset(
    {
        "incorrect_number",
        "invalid_number",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "expired_card",
        "incorrect_cvc",
        "invalid_cvc",
        "incorrect_zip",
        "incorrect_address",
        "card_declined",
        "authentication_required",
    }
)
_PAYMENT_METHOD_OPERATIONS = frozenset({"attach", "update", "get", "charge", "detach"})


class StripeGateway:
    """``PaymentGateway`` over Stripe (or localstripe when ``stripe_api_base`` points at it)."""

    def __init__(
        self,
        settings: Settings,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 7.0,
        max_network_retries: int = 2,
    ) -> None:
        self._settings = settings
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_network_retries = max_network_retries

    @property
    def worst_case_seconds(self) -> float:
        """The longest one call can take: every attempt timing out, plus the backoff."""
        attempts = self._max_network_retries + 1
        backoff = sum(min(0.5 * (1 << (n - 1)), 5.0) for n in range(1, attempts))
        return attempts * (self._connect_timeout + self._read_timeout) + backoff

    @cached_property
    def _client(self) -> StripeClient:
        import stripe

        stripe.enable_telemetry = False
        base = self._settings.stripe_api_base
        return stripe.StripeClient(
            self._settings.stripe_secret_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=self._max_network_retries,
            http_client=stripe.RequestsClient(timeout=(self._connect_timeout, self._read_timeout)),
        )

    @cached_property
    def _ping_client(self) -> StripeClient:
        import stripe

        stripe.enable_telemetry = False
        base = self._settings.stripe_api_base
        return stripe.StripeClient(
            self._settings.stripe_secret_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(1.0, 2.0)),
        )

    def ping(self) -> None:
        """``HealthProbe``: retrieve the balance (one cheap read, 1 s/2 s timeouts, no retry);
        raises the domain error when Stripe does not answer or refuses the key."""
        import stripe

        try:
            self._ping_client.v1.balance.retrieve()
        except stripe.StripeError as error:
            self._fail(error, "ping")

    # --- customers and cards -------------------------------------------------------------

    def create_customer(self, account_id: str, email: str, name: str, idempotency_key: str) -> str:
        import stripe

        try:
            customer = self._client.v1.customers.create(
                params={"email": email, "name": name, "metadata": {"account_id": account_id}},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            self._fail(error, "customer")
        return str(customer.id)

    def attach_card(self, customer_id: str, payment_method_id: str) -> CardSummary:
        import stripe

        check_payment_method_id(payment_method_id)
        try:
            method = self._client.v1.payment_methods.retrieve(payment_method_id).to_dict()
            owner = _id_of(method.get("customer"))
            if method.get("type") != "card":
                raise PaymentMethodInvalid(reason="not_a_card")
            if owner is not None and owner != customer_id:
                raise PaymentMethodInvalid(reason="other_customer")
            if owner is None:
                method = self._client.v1.payment_methods.attach(
                    payment_method_id, params={"customer": customer_id}
                ).to_dict()
            self._client.v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method_id}},
            )
        except stripe.StripeError as error:
            self._fail(error, "attach")
        return card_summary(method)

    def update_card(
        self,
        payment_method_id: str,
        *,
        exp_month: int | None = None,
        exp_year: int | None = None,
        name: str | None = None,
        postal_code: str | None = None,
        country: str | None = None,
        line1: str | None = None,
        city: str | None = None,
    ) -> CardSummary:
        import stripe

        check_payment_method_id(payment_method_id)
        card = _present(exp_month=exp_month, exp_year=exp_year)
        address = _present(postal_code=postal_code, country=country, line1=line1, city=city)
        billing: dict[str, Any] = _present(name=name)
        if address:
            billing["address"] = address
        params: dict[str, Any] = {}
        if card:
            params["card"] = card
        if billing:
            params["billing_details"] = billing
        if not params:
            return self.get_card(payment_method_id)
        try:
            method = self._client.v1.payment_methods.update(
                payment_method_id, params=cast(Any, params)
            )
        except stripe.StripeError as error:
            self._fail(error, "update")
        return card_summary(method.to_dict())

    def create_card_setup(self, customer_id: str) -> str:
        """A SetupIntent (``usage=off_session``) for Stripe.js to save a card with; its
        client_secret."""
        import stripe

        try:
            params = {"customer": customer_id, "usage": "off_session"}
            intent = self._client.v1.setup_intents.create(
                params=cast(Any, {**params, "payment_method_types": ["card"]})
            )
        except stripe.StripeError as error:
            self._fail(error, "setup")
        secret = intent.client_secret
        if not secret:
            raise PaymentRequestRejected(stripe_code="no_client_secret")
        return str(secret)

    def get_card(self, payment_method_id: str) -> CardSummary:
        import stripe

        check_payment_method_id(payment_method_id)
        try:
            method = self._client.v1.payment_methods.retrieve(payment_method_id)
        except stripe.StripeError as error:
            self._fail(error, "get")
        return card_summary(method.to_dict())

    def list_cards(self, customer_id: str) -> list[SavedCard]:
        """``GET /v1/payment_methods?customer=...&type=card``, every page (newest first)."""
        import stripe

        cards: list[SavedCard] = []
        try:
            page = self._client.v1.payment_methods.list(
                params={"customer": customer_id, "type": "card", "limit": 100}
            )
            for method in page.auto_paging_iter():
                data = method.to_dict()
                if isinstance(data.get("id"), str) and data.get("type") == "card":
                    cards.append(SavedCard(str(data["id"]), card_summary(data)))
        except stripe.StripeError as error:
            self._fail(error, "list")
        return cards

    def detach_card(self, payment_method_id: str) -> None:
        """``POST /v1/payment_methods/{id}/detach``."""
        import stripe

        check_payment_method_id(payment_method_id)
        try:
            self._client.v1.payment_methods.detach(payment_method_id)
        except stripe.StripeError as error:
            if isinstance(error, stripe.InvalidRequestError) and error.http_status == 400:
                # Stripe: "not attached to a customer so detachment is impossible"
                raise PaymentMethodInvalid(reason="not_attached") from None
            self._fail(error, "detach")

    # --- charges -------------------------------------------------------------------------

    def charge(  # noqa: PLR0917 - the PaymentGateway.charge port's signature (payment_ports.py)
        self,
        customer_id: str,
        payment_method_id: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str],
        off_session: bool,
    ) -> ChargeOutcome:
        import stripe

        check_payment_method_id(payment_method_id)
        if type(amount) is not int or amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        if not idempotency_key:
            raise ValueError("a charge needs the idempotency key of its stored attempt")
        tags = dict(metadata)
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "expand": ["payment_method"],
        }
        if off_session:
            params["off_session"] = True
        else:  # the customer is here: save the card for the renewals (fewer SCA challenges)
            params["setup_future_usage"] = "off_session"
        if self._settings.stage == "local":
            tags["description"] = description  # localstripe refuses ``description``
        else:
            params["description"] = description
        params["metadata"] = tags
        try:
            intent = self._client.v1.payment_intents.create(
                params=cast(Any, params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            if isinstance(error, stripe.CardError) or _is_card_problem(error):
                return self._declined(error)
            self._fail(error, "charge", idempotency_key=idempotency_key)
        return outcome_from_intent(intent.to_dict(), off_session=off_session)

    def find_payment(self, payment_intent_id: str) -> ChargeOutcome:
        import stripe

        if not payment_intent_id.startswith("pi_"):
            raise ValueError("not a PaymentIntent id")
        try:
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["payment_method"]}
            )
        except stripe.StripeError as error:
            self._fail(error, "find")
        return outcome_from_intent(intent.to_dict(), off_session=False)

    def find_attempt(
        self, customer_id: str, idempotency_key: str, charge_ids: Sequence[str]
    ) -> ChargeOutcome | None:
        """List the customer's PaymentIntents and match the attempt's metadata (``attempt_key``,
        else ``charge_ids`` for attempts made before the key was sent).  localstripe cannot
        filter the list by customer, so on the local stage the filter is applied here."""
        import stripe

        params: dict[str, Any] = {"limit": 100, "expand": ["data.payment_method"]}
        if self._settings.stage != "local":
            params["customer"] = customer_id
        else:
            params.pop("expand")
        wanted = ",".join(charge_ids)
        found: list[dict[str, Any]] = []
        try:
            page = self._client.v1.payment_intents.list(params=cast(Any, params))
            for intent in page.auto_paging_iter():
                data = intent.to_dict()
                if _id_of(data.get("customer")) != customer_id:
                    continue
                metadata = data.get("metadata") or {}
                key = metadata.get("attempt_key")
                if key == idempotency_key or (key is None and metadata.get("charge_ids") == wanted):
                    found.append(data)
        except stripe.StripeError as error:
            self._fail(error, "find")
        if not found:
            return None
        outcomes = [outcome_from_intent(i, off_session=bool(i.get("off_session"))) for i in found]
        rank = {"succeeded": 0, "unknown": 1, "requires_action": 1}
        return sorted(outcomes, key=lambda o: rank.get(o.status, 2))[0]

    # --- refunds -------------------------------------------------------------------------

    def refund(
        self,
        payment_intent_id: str,
        amount: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> RefundOutcome:
        """``POST /v1/refunds`` for ``amount`` of the PaymentIntent, with the credit note's key.
        localstripe refuses ``reason``: it is sent outside the local stage only."""
        import stripe

        if not payment_intent_id.startswith("pi_"):
            raise ValueError("not a PaymentIntent id")
        if type(amount) is not int or amount <= 0:
            raise ValueError("amount must be a positive integer in minor units")
        if not idempotency_key:
            raise ValueError("a refund needs the idempotency key of its credit note")
        params: dict[str, Any] = {
            "payment_intent": payment_intent_id,
            "amount": amount,
            "metadata": dict(metadata),
        }
        if self._settings.stage != "local":
            params["reason"] = "requested_by_customer"
        try:
            made = self._client.v1.refunds.create(
                params=cast(Any, params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            self._fail(error, "refund", idempotency_key=idempotency_key)
        return refund_outcome(made.to_dict())

    def find_refund(self, payment_intent_id: str, credit_note_id: str) -> RefundOutcome | None:
        """``GET /v1/refunds?payment_intent=...``, matched on ``metadata.credit_note_id``."""
        import stripe

        if not payment_intent_id.startswith("pi_"):
            raise ValueError("not a PaymentIntent id")
        params: dict[str, Any] = {"payment_intent": payment_intent_id, "limit": 100}
        found: list[RefundOutcome] = []
        try:
            page = self._client.v1.refunds.list(params=cast(Any, params))
            for refund in page.auto_paging_iter():
                data = refund.to_dict()
                if (data.get("metadata") or {}).get("credit_note_id") == credit_note_id:
                    found.append(refund_outcome(data))
        except stripe.StripeError as error:
            self._fail(error, "find")
        return best_refund(found)

    # --- error translation ---------------------------------------------------------------

    def _declined(self, error: StripeError) -> ChargeOutcome:
        body = _error_body(error)
        decline = decline_from_error(body)
        intent = body.get("payment_intent")
        method = body.get("payment_method")
        _log(error, "charge", decline=decline)
        return ChargeOutcome(
            status="declined",
            payment_intent_id=_id_of(intent),
            card=card_summary(method) if _has_card(method) else None,
            failure=decline,
        )

    def _fail(
        self, error: StripeError, operation: Operation, *, idempotency_key: str | None = None
    ) -> NoReturn:
        """Raise the domain error for ``error`` (see the table in the module docstring)."""
        import stripe

        _log(error, operation)
        body = _error_body(error)
        if isinstance(error, stripe.CardError) or _is_card_problem(error):
            intent = _id_of(body.get("payment_intent"))
            raise CardDeclined(decline_from_error(body), payment_intent_id=intent) from None
        if isinstance(error, stripe.InvalidRequestError):
            if operation in _PAYMENT_METHOD_OPERATIONS and _about_payment_method(error):
                raise PaymentMethodInvalid(reason="missing") from None
            raise PaymentRequestRejected(stripe_code=error.code or "invalid_request") from None
        if isinstance(error, stripe.IdempotencyError):
            raise PaymentRequestRejected(stripe_code="idempotency_error") from None
        if isinstance(error, stripe.RateLimitError):
            raise PaymentGatewayUnavailable(reason="rate_limited") from None
        if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
            raise PaymentGatewayUnavailable(reason="configuration") from None
        if isinstance(error, stripe.APIConnectionError | stripe.APIError):
            reason = (
                "connection" if isinstance(error, stripe.APIConnectionError) else "server_error"
            )
            if operation in ("charge", "refund") and idempotency_key is not None:
                raise PaymentOutcomeUnknown(
                    idempotency_key=idempotency_key, reason=reason
                ) from None
            raise PaymentGatewayUnavailable(reason=reason) from None
        raise PaymentRequestRejected(stripe_code=error.code) from None


# --- parsing Stripe objects (plain dicts from ``to_dict()`` or error bodies) ----------------


def card_summary(method: Mapping[str, Any]) -> CardSummary:
    """The CardSummary of a PaymentMethod object (fields of the wrong type are left out)."""
    card = _mapping(method.get("card"))
    billing = _mapping(method.get("billing_details"))
    address = _mapping(billing.get("address"))
    return CardSummary(
        brand=_text(card.get("brand")) or "unknown",
        last4=_text(card.get("last4")) or "",
        exp_month=_int(card.get("exp_month")),
        exp_year=_int(card.get("exp_year")),
        name=_text(billing.get("name")),
        postal_code=_text(address.get("postal_code")),
        country=_text(address.get("country")),
        issuer_country=_text(card.get("country")),
        line1=_text(address.get("line1")),
        city=_text(address.get("city")),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


WEBHOOK_TOLERANCE_SECONDS = 300


class StripeEvents:
    """``PaymentEvents`` over Stripe's webhooks: the ``Stripe-Signature`` is checked on the
    raw body (stripe-python's scheme, :data:`WEBHOOK_TOLERANCE_SECONDS` of tolerance) before
    anything else, the body is decoded with bounded depth (even a signed body cannot make us
    recurse), then parsed by :func:`event_from_payload`."""

    def __init__(self, secret: str, tolerance: int = WEBHOOK_TOLERANCE_SECONDS) -> None:
        self._secret = secret
        self._tolerance = tolerance

    def verified(self, raw: bytes, signature: str | None) -> PaymentEvent:
        import stripe

        try:
            stripe.WebhookSignature.verify_header(
                raw.decode("utf-8"), signature, self._secret, tolerance=self._tolerance
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
            raise InvalidInput("invalid_signature") from None
        payload = decode_json(raw)
        if not isinstance(payload, dict):
            raise InvalidInput("invalid_signature")
        return event_from_payload(payload)

    def parse(self, payload: Mapping[str, Any]) -> PaymentEvent:
        return event_from_payload(payload)


EVENT_ID_MAX = 255  # Stripe's are ~30 characters; a longer one is not Stripe's (and keys cap)
_OBJECT_ID_EVENTS = (
    "payment_intent.succeeded",
    "payment_method.automatically_updated",
    "charge.refunded",
    "charge.dispute.created",
    *REFUND_EVENTS,
)


def event_from_payload(payload: Mapping[str, Any]) -> PaymentEvent:  # noqa: C901, PLR0912 - one check per field of the event shape
    """The :class:`PaymentEvent` of a verified Stripe event body (decoded JSON).

    Raises :class:`MalformedEvent` (with the event id when it is usable) when the shape is not
    Stripe's: an id that is not a short printable string, a ``type`` that is not a string,
    ``data`` or ``data.object`` that are not objects, the object's ``metadata``, ``card`` or
    ``billing_details`` that are not objects, or a missing object id on the events acted on.
    """
    raw_id = payload.get("id")
    if not isinstance(raw_id, str) or not raw_id:
        raise MalformedEvent("missing_id")
    if len(raw_id) > EVENT_ID_MAX or not raw_id.isprintable() or raw_id.strip() != raw_id:
        raise MalformedEvent("invalid_id")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent("invalid_type", raw_id)
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise MalformedEvent("invalid_data", raw_id)
    obj = data.get("object")
    if not isinstance(obj, Mapping):
        raise MalformedEvent("invalid_data_object", raw_id)
    object_id = obj.get("id")
    if object_id is not None and not _short_id(object_id):
        raise MalformedEvent("invalid_object_id", raw_id)
    if kind in _OBJECT_ID_EVENTS and object_id is None:
        raise MalformedEvent("missing_object_id", raw_id)
    for name in ("metadata", "card", "billing_details"):
        if obj.get(name) is not None and not isinstance(obj.get(name), Mapping):
            raise MalformedEvent(f"invalid_{name}", raw_id)
    metadata = obj.get("metadata") or {}
    account_id, charge_list = metadata.get("account_id"), metadata.get("charge_ids")
    if (account_id is not None and not _short_id(account_id)) or not isinstance(
        charge_list, str | None
    ):
        raise MalformedEvent("invalid_metadata", raw_id)
    customer, intent = _id_of(obj.get("customer")), _id_of(obj.get("payment_intent"))
    details = obj.get("billing_details") or {}
    if (
        (customer is not None and not _short_id(customer))
        or (intent is not None and not _short_id(intent))
        or not isinstance(details.get("address") or {}, Mapping)
    ):
        raise MalformedEvent("invalid_object", raw_id)
    card = None
    if kind == "payment_method.automatically_updated" and isinstance(obj.get("card"), Mapping):
        card = card_summary(obj)
    refunded = obj.get("amount_refunded")
    if kind == "charge.refunded" and (type(refunded) is not int or refunded < 0):
        raise MalformedEvent("invalid_amount_refunded", raw_id)
    note_id = metadata.get("credit_note_id")
    if note_id is not None and not _short_id(note_id):
        raise MalformedEvent("invalid_metadata", raw_id)
    return PaymentEvent(
        credit_note_id=note_id if kind in REFUND_EVENTS else None,
        refund=refund_outcome(obj) if kind in REFUND_EVENTS else None,
        id=raw_id,
        type=kind,
        object_id=object_id,
        account_id=account_id or None,
        charge_ids=tuple(c for c in (charge_list or "").split(",") if c),
        customer_id=customer,
        card=card,
        payment_intent_id=intent,
        amount_refunded=refunded if kind == "charge.refunded" else None,
    )


def _short_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= EVENT_ID_MAX and value.isprintable()


def decline_from_error(error: Mapping[str, Any]) -> DeclineInfo:
    """The DeclineInfo of a Stripe error object (or of a ``last_payment_error``)."""
    return DeclineInfo(
        code=str(error.get("code") or "card_declined"),
        decline_code=error.get("decline_code") or None,
        advice_code=error.get("advice_code") or None,
    )


def outcome_from_intent(intent: Mapping[str, Any], *, off_session: bool) -> ChargeOutcome:
    """The ChargeOutcome a PaymentIntent object stands for."""
    status = intent.get("status")
    method = intent.get("payment_method")
    card = card_summary(method) if _has_card(method) else None
    intent_id = _id_of(intent)
    if status == "succeeded":
        return ChargeOutcome("succeeded", intent_id, card=card)
    if status == "requires_action":
        if off_session:
            decline = DeclineInfo("authentication_required", "authentication_required")
            return ChargeOutcome("declined", intent_id, card=card, failure=decline)
        return ChargeOutcome("requires_action", intent_id, intent.get("client_secret"), card)
    last_error = intent.get("last_payment_error")
    if status == "requires_payment_method" and isinstance(last_error, Mapping):
        return ChargeOutcome(
            "declined", intent_id, card=card, failure=decline_from_error(last_error)
        )
    if status == "canceled":
        decline = DeclineInfo("payment_intent_canceled")
        return ChargeOutcome("declined", intent_id, card=card, failure=decline)
    # processing, requires_confirmation, requires_capture: nothing settled yet
    return ChargeOutcome("unknown", intent_id, card=card)


def refund_outcome(refund: Mapping[str, Any]) -> RefundOutcome:
    """The RefundOutcome a Refund object stands for (``pending`` and ``requires_action`` are
    not settled yet; ``failed`` and ``canceled`` gave nothing back)."""
    status = refund.get("status")
    refund_id = _id_of(refund)
    amount = _int(refund.get("amount"))
    if status == "succeeded":
        return RefundOutcome("succeeded", refund_id, amount)
    if status in ("failed", "canceled"):
        reason = _text(refund.get("failure_reason")) or str(status)
        return RefundOutcome("failed", refund_id, amount, failure_code=reason)
    return RefundOutcome("pending", refund_id, amount)


def _error_body(error: StripeError) -> Mapping[str, Any]:
    body = error.json_body if isinstance(error.json_body, Mapping) else {}
    inner = body.get("error")
    return inner if isinstance(inner, Mapping) else {}


def _is_card_problem(error: StripeError) -> bool:
    import stripe

    return isinstance(error, stripe.InvalidRequestError) and error.code in _CARD_PROBLEM_CODES


def _about_payment_method(error: StripeError) -> bool:
    """An InvalidRequestError that names the PaymentMethod (or a bare 404 on its route)."""
    param = getattr(error, "param", None)
    if param == "payment_method":
        return True
    missing = error.code == "resource_missing" or error.http_status == 404
    return missing and param in (None, "", "id")


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _has_card(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping) and isinstance(value.get("card"), Mapping)


def _int(value: Any) -> int:
    """A small non-negative integer field (``exp_month``, ``exp_year``), else 0: an integer or
    a string of at most four digits; never ``int()`` of a float (``Infinity`` in a signed
    body raised OverflowError), a bool, or an unbounded string."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if 0 <= value <= 9999 else 0
    if isinstance(value, str) and 0 < len(value) <= 4 and value.isascii() and value.isdigit():
        return int(value)
    return 0


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _log(error: StripeError, operation: str, *, decline: DeclineInfo | None = None) -> None:
    """Ids and codes only: never Stripe's message, never card data (LG2)."""
    log_event(
        "stripe.error",
        operation=operation,
        error_type=type(error).__name__,
        http_status=error.http_status,
        code=error.code,
        decline_code=decline.decline_code if decline else None,
        advice_code=decline.advice_code if decline else None,
        request_id=error.request_id,
    )
