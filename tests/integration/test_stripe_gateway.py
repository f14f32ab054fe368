"""The payment-gateway edge: StripeGateway over localstripe and over a loopback stub.

Three parts:

1. **Contract** (``backend`` fixture): the same tests run against the real
   :class:`StripeGateway` talking to the embedded localstripe and against
   :class:`FakePaymentGateway`, so the fake the unit tests rely on behaves like the real
   adapter.  PaymentMethods are made with the Stripe API, as Stripe.js would.  What
   localstripe (1.15) really does, read from its ``resources.py`` and written into the tests:

   * it declines some test cards when they are *attached* (4000000000000002, ...9995, ...9987,
     ...9979, ...0069, ...0127, ...0119, 4242424242424241) and only 4000000000000341 (plus two
     3-D Secure cards) when *charged*: 0341 is the "attach, then decline" card used here;
   * its declines carry ``code: card_declined`` only (no ``decline_code`` / ``advice_code``,
     ``type`` is ``invalid_request_error`` with HTTP 402, and no ``payment_intent`` in the
     error), so the decline is the generic one and its PaymentIntent id is unknown;
   * it confirms 4000002500003155 to ``requires_action`` even off-session (Stripe answers
     402 ``authentication_required``); the adapter reports both as that hard decline;
   * it replaces nested hashes on update (Stripe merges them); ``devstack`` patches it to merge,
     so a card keeps its brand and last four digits once its expiry is edited;
   * it ignores idempotency keys and refuses ``description`` on PaymentIntents (the adapter
     sends it in metadata on the ``local`` stage), and wants an ``sk_``-prefixed key.

2. **Decline table over HTTP**: every file in ``tests/fixtures/stripe_errors`` is a Stripe
   error body (HTTP 402, ``type: card_error``, ``code`` / ``decline_code`` / ``advice_code``,
   with the ``payment_intent`` and ``payment_method`` objects Stripe embeds) written from
   Stripe's documented error shape and decline codes (docs.stripe.com/declines/codes); no live
   Stripe account was used.  A loopback stub serves each one to the real StripeGateway, so the
   translation path stripe-python -> adapter -> domain is what is tested.

3. **Transport failures** against the stub: a timeout after sending is "unknown", a 429 is not,
   5xx after stripe-python's retries is "unknown" for a charge, and so on.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.fake_payments import FakePaymentGateway
from chalicelib.adapters.stripe_gateway import StripeGateway
from chalicelib.config import Settings
from chalicelib.domain.payments import (
    CardDeclined,
    DeclineInfo,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
    PaymentOutcomeUnknown,
    PaymentRequestRejected,
)
from chalicelib.i18n import translate
from chalicelib.services.payment_ports import PaymentGateway

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe_errors"
LOOPBACK = "127.0.0.1"


# =============================================================================================
# 1. Contract: StripeGateway over localstripe, and the fake
# =============================================================================================


@dataclass
class Backend:
    name: str
    gateway: PaymentGateway
    new_card: Callable[[str], str]  # test card number -> PaymentMethod id
    default_card: Callable[[str], str | None]  # customer id -> default PaymentMethod id
    confirm_setup: Callable[[str, str], str]  # (client_secret, number) -> PaymentMethod id


def _stripe_client(settings: Settings) -> Any:
    import stripe

    stripe.enable_telemetry = False
    return stripe.StripeClient(
        settings.stripe_secret_key,
        base_addresses={"api": settings.stripe_api_base or ""},
        http_client=stripe.RequestsClient(timeout=(2, 10)),
    )


@pytest.fixture(params=["localstripe", "fake"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake = FakePaymentGateway()
        return Backend(
            "fake",
            fake,
            lambda number: fake.add_test_card(number, exp_year=2030),  # as localstripe's
            fake.default_payment_method,
            fake.confirm_card_setup,
        )
    settings: Settings = request.getfixturevalue("settings")
    client = _stripe_client(settings)

    def new_card(number: str) -> str:
        card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        return str(client.v1.payment_methods.create(params={"type": "card", "card": card}).id)

    def default_card(customer_id: str) -> str | None:
        customer = client.v1.customers.retrieve(customer_id)
        return customer.invoice_settings.default_payment_method

    def confirm_setup(client_secret: str, number: str) -> str:
        # what Stripe.js's confirmCardSetup does with the publishable key and the secret
        setup_id = client_secret.split("_secret_")[0]
        intent = client.v1.setup_intents.confirm(
            setup_id, params={"payment_method": new_card(number)}
        )
        assert intent.status == "succeeded" and intent.usage == "off_session"
        return str(intent.payment_method)

    return Backend("localstripe", StripeGateway(settings), new_card, default_card, confirm_setup)


def _customer(backend: Backend) -> str:
    key = f"customer:{uuid.uuid4().hex}"
    return backend.gateway.create_customer(uuid.uuid4().hex, "ada@example.com", "Ada", key)


def _charge(backend: Backend, customer: str, card: str, *, off_session: bool = True) -> Any:
    return backend.gateway.charge(
        customer,
        card,
        1500,
        "EUR",
        f"charge:{uuid.uuid4().hex}:attempt:1",
        "HelpDesk Basic (monthly)",
        {"charge_id": "c1"},
        off_session,
    )


def test_create_customer(backend: Backend) -> None:
    first, second = _customer(backend), _customer(backend)
    assert first.startswith("cus_") and second.startswith("cus_")
    assert first != second


def test_attach_card_makes_it_the_default(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    summary = backend.gateway.attach_card(customer, card)
    assert (summary.brand, summary.last4, summary.exp_month, summary.exp_year) == (
        "visa",
        "4242",
        12,
        2030,
    )
    assert backend.default_card(customer) == card
    other = backend.new_card("5555555555554444")
    assert backend.gateway.attach_card(customer, other).last4 == "4444"
    assert backend.default_card(customer) == other
    assert backend.gateway.get_card(card).last4 == "4242"


def test_a_card_of_another_customer_or_unknown_or_a_card_number_is_invalid(
    backend: Backend,
) -> None:
    owner, thief = _customer(backend), _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(owner, card)
    with pytest.raises(PaymentMethodInvalid) as other:
        backend.gateway.attach_card(thief, card)
    assert other.value.reason == "other_customer"
    assert backend.default_card(thief) is None
    with pytest.raises(PaymentMethodInvalid):
        backend.gateway.attach_card(thief, "pm_doesnotexist0000")
    with pytest.raises(PaymentMethodInvalid) as number:
        backend.gateway.attach_card(thief, "4242 4242 4242 4242")
    assert number.value.reason == "card_number_like"
    assert "4242" not in str(number.value) and "4242" not in json.dumps(number.value.fields)


def test_update_card_edits_expiry_and_billing_details(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, card)
    updated = backend.gateway.update_card(
        card,
        exp_month=5,
        exp_year=2031,
        name="Ada Byron",
        postal_code="75001",
        country="FR",
        line1="12 rue de Rivoli",
        city="Paris",
    )
    fetched = backend.gateway.get_card(card)
    for summary in (updated, fetched):
        assert (summary.exp_month, summary.exp_year) == (5, 2031)
        assert (summary.name, summary.postal_code, summary.country) == ("Ada Byron", "75001", "FR")
        assert (summary.line1, summary.city) == ("12 rue de Rivoli", "Paris")  # shown back
    renamed = backend.gateway.update_card(card, name="Ada King")
    assert renamed.name == "Ada King"
    assert renamed.exp_month == 5  # fields not sent are kept
    assert (renamed.line1, renamed.city) == ("12 rue de Rivoli", "Paris")


def test_update_card_keeps_brand_and_last4(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, card)
    backend.gateway.update_card(card, exp_month=6)
    summary = backend.gateway.get_card(card)
    assert (summary.brand, summary.last4) == ("visa", "4242")


def test_off_session_charge_succeeds_and_can_be_found(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, card)
    outcome = _charge(backend, customer, card)
    assert outcome.status == "succeeded"
    assert outcome.payment_intent_id and outcome.payment_intent_id.startswith("pi_")
    assert outcome.failure is None
    assert outcome.card is not None and outcome.card.last4 == "4242"
    found = backend.gateway.find_payment(outcome.payment_intent_id)
    assert found.status == "succeeded"
    assert found.payment_intent_id == outcome.payment_intent_id


def test_an_attempt_is_found_by_its_metadata_and_a_lost_one_is_not(backend: Backend) -> None:
    """Reconciliation after Stripe's 24 h key window: the PaymentIntent an attempt made is
    found by the ``attempt_key`` metadata; one that never reached Stripe is not."""
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, card)
    key = f"charge:{uuid.uuid4().hex}:attempt:1"
    charge_id = uuid.uuid4().hex
    outcome = backend.gateway.charge(
        customer,
        card,
        1500,
        "EUR",
        key,
        "HelpDesk Basic (monthly)",
        {"charge_ids": charge_id, "attempt_key": key},
        True,
    )
    found = backend.gateway.find_attempt(customer, key, [charge_id])
    assert found is not None and found.status == "succeeded"
    assert found.payment_intent_id == outcome.payment_intent_id
    assert backend.gateway.find_attempt(customer, f"{key}x", [uuid.uuid4().hex]) is None
    assert backend.gateway.find_attempt(_customer(backend), key, [charge_id]) is None


def test_a_card_saved_through_a_setup_intent_is_attached_with_its_issuing_country(
    backend: Backend,
) -> None:
    customer = _customer(backend)
    secret = backend.gateway.create_card_setup(customer)
    assert secret.startswith("seti_") and "_secret_" in secret
    assert backend.gateway.create_card_setup(customer) != secret  # one per attempt
    card = backend.confirm_setup(secret, "4242424242424242")
    summary = backend.gateway.attach_card(customer, card)
    assert summary.last4 == "4242" and summary.exp_year >= 2030
    assert summary.issuer_country == ("FR" if backend.name == "localstripe" else "US")
    assert summary.as_dict()["issuer_country"] == summary.issuer_country
    assert backend.default_card(customer) == card
    assert _charge(backend, customer, card).status == "succeeded"


def test_on_session_charges_save_the_card_for_off_session_use(settings: Settings) -> None:
    """Over localstripe (completed by devstack/stripe_js.py to take the parameter)."""
    gateway, client = StripeGateway(settings), _stripe_client(settings)
    customer = gateway.create_customer("a1", "ada@example.com", "Ada", f"c:{uuid.uuid4().hex}")
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
    method = str(client.v1.payment_methods.create(params={"type": "card", "card": card}).id)
    gateway.attach_card(customer, method)
    uses = {}
    for off_session in (False, True):
        key = f"charge:{uuid.uuid4().hex}:attempt:1"
        outcome = gateway.charge(customer, method, 1500, "EUR", key, "d", {}, off_session)
        assert outcome.status == "succeeded" and outcome.payment_intent_id
        intent = client.v1.payment_intents.retrieve(outcome.payment_intent_id).to_dict()
        uses[off_session] = intent.get("setup_future_usage")
    assert uses == {False: "off_session", True: None}


def test_a_card_that_attaches_then_declines_at_charge_time(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4000000000000341")
    assert backend.gateway.attach_card(customer, card).last4 == "0341"
    outcome = _charge(backend, customer, card)
    assert outcome.status == "declined"
    assert outcome.failure is not None and outcome.failure.code == "card_declined"
    guidance = outcome.guidance
    assert guidance is not None
    assert (guidance.message_key, guidance.public_code, guidance.hard) == (
        "card_declined",
        "card_declined",
        False,
    )


def test_a_card_declined_when_attached(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4000000000000002")
    with pytest.raises(CardDeclined) as declined:
        backend.gateway.attach_card(customer, card)
    assert declined.value.code == "card_declined"
    assert declined.value.STATUS_CODE == 402
    assert backend.default_card(customer) is None


def test_three_d_secure_card_requires_action_on_session_and_hard_declines_off_session(
    backend: Backend,
) -> None:
    customer = _customer(backend)
    card = backend.new_card("4000002500003155")
    backend.gateway.attach_card(customer, card)
    on_session = _charge(backend, customer, card, off_session=False)
    assert on_session.status == "requires_action"
    assert on_session.client_secret and on_session.payment_intent_id
    assert on_session.client_secret.startswith(on_session.payment_intent_id)
    assert backend.gateway.find_payment(on_session.payment_intent_id).status == "requires_action"
    off_session = _charge(backend, customer, card, off_session=True)
    assert off_session.status == "declined"
    assert off_session.failure == DeclineInfo("authentication_required", "authentication_required")
    assert off_session.guidance is not None and off_session.guidance.hard


# =============================================================================================
# A loopback stub of the Stripe API
# =============================================================================================


@dataclass
class Reply:
    status: int
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # close the connection without answering (after reading the request)
    raw: bytes | None = None  # a body that is not JSON (a proxy's HTML page)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


class StubStripe:
    """Answers scripted replies per (method, path); the last reply of a route repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                form = parse_qs(raw or parts.query, keep_blank_values=True)
                with stub.lock:
                    stub.seen.append(
                        Seen(
                            self.command,
                            parts.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            form,
                        )
                    )
                    queue = stub.routes.get((self.command, parts.path))
                    if queue:
                        reply = queue.pop(0) if len(queue) > 1 else queue[0]
                    else:
                        reply = Reply(
                            404,
                            {
                                "error": {
                                    "type": "invalid_request_error",
                                    "code": "resource_missing",
                                    "message": "No such route in the stub.",
                                }
                            },
                        )
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    self.close_connection = True
                    return
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Request-Id", "req_stub")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.server_address[1]}"

    def on(self, method: str, path: str, *replies: Reply) -> None:
        with self.lock:
            self.routes[(method, path)] = list(replies)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def __enter__(self) -> StubStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def stub() -> Iterator[StubStripe]:
    with StubStripe() as server:
        yield server


def _gateway(
    url: str, *, stage: str = "test", read_timeout: float = 5.0, retries: int = 2
) -> StripeGateway:
    settings = Settings(stage=stage, stripe_api_base=url, stripe_secret_key="sk_test_stub")
    return StripeGateway(
        settings, connect_timeout=1.0, read_timeout=read_timeout, max_network_retries=retries
    )


def _stub_charge(gateway: StripeGateway, key: str = "charge:c1:attempt:1", **kw: Any) -> Any:
    return gateway.charge(
        "cus_T3stCustomer0001",
        kw.pop("payment_method_id", "pm_1stub"),
        1500,
        "EUR",
        key,
        "HelpDesk Pro (monthly)",
        {"charge_id": "c1"},
        kw.pop("off_session", True),
    )


def _intent(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "pi_3stub",
        "object": "payment_intent",
        "status": status,
        "client_secret": "pi_3stub_secret_x",
        "payment_method": {
            "id": "pm_1stub",
            "object": "payment_method",
            "type": "card",
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
            "billing_details": {
                "name": "Ada",
                "address": {"postal_code": "75001", "country": "FR"},
            },
        },
        **extra,
    }


def _error(status: int, type_: str, **fields: Any) -> Reply:
    return Reply(status, {"error": {"type": type_, "message": "stub message", **fields}})


# =============================================================================================
# 2. The decline table, driven through HTTP with recorded error bodies
# =============================================================================================

# fixture -> (message key, hard, public code): the expected guidance, written out by hand
EXPECTED: dict[str, tuple[str, bool, str]] = {
    "incorrect_number": ("decline.check_card_details", True, "incorrect_number"),
    "invalid_number": ("decline.check_card_details", True, "invalid_number"),
    "invalid_expiry_month": ("decline.check_card_details", True, "invalid_expiry_month"),
    "invalid_expiry_year": ("decline.check_card_details", True, "invalid_expiry_year"),
    "expired_card": ("decline.check_card_details", True, "expired_card"),
    "expired_card_try_again_later": ("decline.check_card_details", False, "expired_card"),
    "incorrect_cvc": ("decline.check_cvc", True, "incorrect_cvc"),
    "incorrect_cvc_confirm_card_data": ("decline.check_cvc", True, "incorrect_cvc"),
    "incorrect_zip": ("decline.check_address", True, "incorrect_zip"),
    "incorrect_address": ("decline.check_address", True, "incorrect_address"),
    "insufficient_funds": ("decline.insufficient_funds", False, "insufficient_funds"),
    "authentication_required": (
        "decline.authentication_required",
        True,
        "authentication_required",
    ),
    "card_not_supported": ("decline.card_not_supported", True, "card_not_supported"),
    "do_not_honor": ("decline.call_bank", False, "do_not_honor"),
    "do_not_honor_do_not_try_again": ("decline.call_bank", True, "do_not_honor"),
    "fraudulent": ("card_declined", True, "card_declined"),
    "lost_card": ("card_declined", True, "card_declined"),
    "stolen_card": ("card_declined", True, "card_declined"),
    "pickup_card": ("card_declined", True, "card_declined"),
    "merchant_blacklist": ("card_declined", True, "card_declined"),
    "generic_decline": ("card_declined", False, "card_declined"),
    "restricted_card": ("decline.use_another_card", True, "restricted_card"),
    "processing_error": ("decline.processing_error", False, "processing_error"),
}
FRAUD = ("fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist")


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_fixture_has_an_expectation_and_the_real_shape() -> None:
    names = {path.stem for path in FIXTURES.glob("*.json")}
    assert names == set(EXPECTED)
    for name in names:
        error = _fixture(name)["error"]
        assert error["type"] == "card_error"
        assert error["payment_intent"]["object"] == "payment_intent"
        assert error["payment_intent"]["last_payment_error"]["code"] == error["code"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_decline_through_charge(stub: StubStripe, name: str) -> None:
    body = _fixture(name)
    stub.on("POST", "/v1/payment_intents", Reply(402, body))
    outcome = _stub_charge(_gateway(stub.url))
    error = body["error"]
    assert outcome.status == "declined"
    assert outcome.failure == DeclineInfo(
        error["code"], error.get("decline_code"), error.get("advice_code")
    )
    assert outcome.payment_intent_id == error["payment_intent"]["id"]
    assert (
        outcome.card is not None and outcome.card.last4 == error["payment_method"]["card"]["last4"]
    )
    guidance = outcome.guidance
    assert guidance is not None
    assert (guidance.message_key, guidance.hard, guidance.public_code) == EXPECTED[name]
    assert len(stub.requests_to("POST", "/v1/payment_intents")) == 1  # declines are not retried


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_decline_through_attach(stub: StubStripe, name: str) -> None:
    body = _fixture(name)
    method = dict(body["error"]["payment_method"], customer=None)
    stub.on("GET", f"/v1/payment_methods/{method['id']}", Reply(200, method))
    stub.on("POST", f"/v1/payment_methods/{method['id']}/attach", Reply(402, body))
    with pytest.raises(CardDeclined) as declined:
        _gateway(stub.url).attach_card("cus_T3stCustomer0001", method["id"])
    error = declined.value
    message_key, hard, public_code = EXPECTED[name]
    assert (error.message_key, error.guidance.hard, error.extra) == (
        message_key,
        hard,
        {"decline_code": public_code},
    )
    assert error.code == "card_declined" and error.STATUS_CODE == 402
    assert error.payment_intent_id == body["error"]["payment_intent"]["id"]
    assert stub.requests_to("POST", "/v1/customers/cus_T3stCustomer0001") == []  # no default


@pytest.mark.parametrize("name", FRAUD)
def test_fraud_codes_render_only_the_generic_decline(stub: StubStripe, name: str) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(402, _fixture(name)))
    outcome = _stub_charge(_gateway(stub.url))
    assert outcome.guidance is not None
    for locale in ("en", "fr"):
        text = translate(outcome.guidance.message_key, locale)
        assert text == translate("card_declined", locale)
        for word in ("fraud", "lost", "stolen", "perdue", "volée", "pickup", "blacklist"):
            assert word not in text.lower()
    assert name not in json.dumps(CardDeclined(outcome.failure).extra)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_guidance_key_has_english_and_french_text(name: str) -> None:
    key = EXPECTED[name][0]
    english, french = translate(key, "en"), translate(key, "fr")
    assert english != key and french != key
    assert english != french
    assert "Stripe" not in english
    assert english.strip() != _fixture(name)["error"]["message"].strip()  # our words, not Stripe's


# =============================================================================================
# 3. Requests sent, success answers and transport failures, against the stub
# =============================================================================================


def test_charge_sends_an_off_session_confirmed_intent_with_the_callers_key(
    stub: StubStripe,
) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("succeeded")))
    outcome = _stub_charge(_gateway(stub.url), "charge:c9:attempt:3")
    assert outcome.status == "succeeded" and outcome.payment_intent_id == "pi_3stub"
    assert outcome.card is not None and outcome.card.postal_code == "75001"
    (sent,) = stub.requests_to("POST", "/v1/payment_intents")
    assert sent.headers["idempotency-key"] == "charge:c9:attempt:3"
    assert sent.headers["authorization"] == "Bearer sk_test_stub"
    form = {key: values[0] for key, values in sent.form.items()}
    assert form["amount"] == "1500" and form["currency"] == "eur"
    assert form["off_session"] == "true" and form["confirm"] == "true"
    assert form["payment_method_types[0]"] == "card"
    assert form["customer"] == "cus_T3stCustomer0001" and form["payment_method"] == "pm_1stub"
    assert form["description"] == "HelpDesk Pro (monthly)"
    assert form["metadata[charge_id]"] == "c1"
    assert "setup_future_usage" not in form  # saved already: renewals reuse it


def test_on_session_charge_is_not_off_session_and_returns_the_client_secret(
    stub: StubStripe,
) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("requires_action")))
    gateway = _gateway(stub.url)
    outcome = _stub_charge(gateway, off_session=False)
    assert (outcome.status, outcome.client_secret) == ("requires_action", "pi_3stub_secret_x")
    sent = stub.requests_to("POST", "/v1/payment_intents")[0].form
    assert "off_session" not in sent
    assert sent["setup_future_usage"] == ["off_session"]  # the card is kept for renewals
    # the same answer to an off-session charge is a hard authentication_required decline
    assert _stub_charge(gateway, "charge:c1:attempt:2").guidance.message_key == (
        "decline.authentication_required"
    )


def test_local_stage_sends_the_description_in_metadata(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("succeeded")))
    _stub_charge(_gateway(stub.url, stage="local"))
    form = stub.requests_to("POST", "/v1/payment_intents")[0].form
    assert "description" not in form
    assert form["metadata[description]"] == ["HelpDesk Pro (monthly)"]


def test_no_telemetry_header_is_sent(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("succeeded")))
    gateway = _gateway(stub.url)
    _stub_charge(gateway, "k1")
    _stub_charge(gateway, "k2")
    assert all("x-stripe-client-telemetry" not in s.headers for s in stub.seen)


def test_find_payment_reads_a_declined_intent(stub: StubStripe) -> None:
    last_error = _fixture("insufficient_funds")["error"]["payment_intent"]["last_payment_error"]
    stub.on(
        "GET",
        "/v1/payment_intents/pi_3stub",
        Reply(200, _intent("requires_payment_method", last_payment_error=last_error)),
    )
    outcome = _gateway(stub.url).find_payment("pi_3stub")
    assert outcome.status == "declined"
    assert outcome.failure == DeclineInfo("card_declined", "insufficient_funds", "try_again_later")
    assert stub.requests_to("GET", "/v1/payment_intents/pi_3stub")[0].form["expand[0]"] == [
        "payment_method"
    ]


@pytest.mark.parametrize(
    ("status", "expected"), [("processing", "unknown"), ("canceled", "declined")]
)
def test_find_payment_of_unsettled_or_canceled_intents(
    stub: StubStripe, status: str, expected: str
) -> None:
    stub.on("GET", "/v1/payment_intents/pi_3stub", Reply(200, _intent(status)))
    assert _gateway(stub.url).find_payment("pi_3stub").status == expected


def test_a_timeout_after_sending_is_unknown_and_retried_with_the_same_key(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("succeeded"), delay=1.0))
    gateway = _gateway(stub.url, read_timeout=0.3, retries=2)
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        _stub_charge(gateway, "charge:c1:attempt:1")
    assert unknown.value.idempotency_key == "charge:c1:attempt:1"
    sent = stub.requests_to("POST", "/v1/payment_intents")
    assert len(sent) == 3  # stripe-python's own retries...
    assert {s.headers["idempotency-key"] for s in sent} == {"charge:c1:attempt:1"}  # ...replays
    # reconciliation: replaying the same key once Stripe answers gives the original result
    stub.on("POST", "/v1/payment_intents", Reply(200, _intent("succeeded")))
    assert _stub_charge(gateway, "charge:c1:attempt:1").status == "succeeded"
    assert stub.requests_to("POST", "/v1/payment_intents")[-1].headers["idempotency-key"] == (
        "charge:c1:attempt:1"
    )


def test_a_429_is_unavailable_not_unknown_and_not_retried_here(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", _error(429, "invalid_request_error", code="rate_limit"))
    with pytest.raises(PaymentGatewayUnavailable) as unavailable:
        _stub_charge(_gateway(stub.url))
    assert unavailable.value.reason == "rate_limited"
    assert unavailable.value.STATUS_CODE == 503
    assert len(stub.requests_to("POST", "/v1/payment_intents")) == 1


def test_a_5xx_after_retries_is_unknown_for_a_charge(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", _error(500, "api_error"))
    with pytest.raises(PaymentOutcomeUnknown):
        _stub_charge(_gateway(stub.url))
    sent = stub.requests_to("POST", "/v1/payment_intents")
    assert len(sent) == 3 and len({s.headers["idempotency-key"] for s in sent}) == 1


def test_a_5xx_is_unavailable_for_create_customer_and_the_key_is_passed(stub: StubStripe) -> None:
    stub.on("POST", "/v1/customers", _error(503, "api_error"))
    with pytest.raises(PaymentGatewayUnavailable) as unavailable:
        _gateway(stub.url, retries=0).create_customer("a1", "a@example.com", "Ada", "customer:a1")
    assert unavailable.value.reason == "server_error"
    (sent,) = stub.requests_to("POST", "/v1/customers")
    assert sent.headers["idempotency-key"] == "customer:a1"
    assert sent.form["metadata[account_id]"] == ["a1"]


def test_connection_refused_is_unavailable_except_for_a_charge() -> None:
    with StubStripe() as closed:
        url = closed.url  # the port is closed once the stub has stopped
    gateway = _gateway(url, retries=0)
    with pytest.raises(PaymentGatewayUnavailable) as unavailable:
        gateway.get_card("pm_1stub")
    assert unavailable.value.reason == "connection"
    with pytest.raises(PaymentOutcomeUnknown):
        _stub_charge(gateway)


def test_a_connection_reset_after_sending_is_unknown_for_a_charge(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(200, reset=True))
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        _stub_charge(_gateway(stub.url, retries=1), "charge:c9:attempt:1")
    assert unknown.value.reason == "connection"
    sent = stub.requests_to("POST", "/v1/payment_intents")
    assert len(sent) == 2 and {s.headers["idempotency-key"] for s in sent} == {
        "charge:c9:attempt:1"
    }


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        (
            "POST",
            "/v1/customers",
            lambda g: g.create_customer("a1", "a@example.com", "Ada", "customer:a1"),
        ),
        ("GET", "/v1/payment_methods/pm_1stub", lambda g: g.get_card("pm_1stub")),
        ("GET", "/v1/payment_intents/pi_3stub", lambda g: g.find_payment("pi_3stub")),
    ],
)
@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, _intent("succeeded"), delay=1.0), "connection"),  # hangs past the timeout
        (Reply(200, reset=True), "connection"),
        (Reply(502, raw=b"<html><body>502 Bad Gateway</body></html>"), "server_error"),
        (Reply(200, raw=b"not json at all"), "server_error"),
        (_error(503, "api_error"), "server_error"),
    ],
)
def test_transport_faults_outside_a_charge_are_unavailable(
    stub: StubStripe, method: str, path: str, call: Callable[[Any], Any], reply: Reply, reason: str
) -> None:
    stub.on(method, path, reply)
    with pytest.raises(PaymentGatewayUnavailable) as unavailable:
        call(_gateway(stub.url, read_timeout=0.3, retries=0))
    assert unavailable.value.reason == reason
    assert unavailable.value.STATUS_CODE == 503


def test_an_html_502_on_a_charge_is_unknown(stub: StubStripe) -> None:
    stub.on("POST", "/v1/payment_intents", Reply(502, raw=b"<html>Bad Gateway</html>"))
    with pytest.raises(PaymentOutcomeUnknown):
        _stub_charge(_gateway(stub.url, retries=0))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (_error(401, "invalid_request_error"), PaymentGatewayUnavailable),
        (_error(403, "invalid_request_error"), PaymentGatewayUnavailable),
        (_error(400, "idempotency_error"), PaymentRequestRejected),
        (
            _error(400, "invalid_request_error", code="amount_too_small", param="amount"),
            PaymentRequestRejected,
        ),
        (
            _error(400, "invalid_request_error", code="resource_missing", param="payment_method"),
            PaymentMethodInvalid,
        ),
        (
            _error(
                400,
                "invalid_request_error",
                code="payment_method_unexpected_state",
                param="payment_method",
            ),
            PaymentMethodInvalid,
        ),
    ],
)
def test_other_errors_of_a_charge(
    stub: StubStripe, reply: Reply, expected: type[Exception]
) -> None:
    stub.on("POST", "/v1/payment_intents", reply)
    with pytest.raises(expected):
        _stub_charge(_gateway(stub.url))
    assert len(stub.requests_to("POST", "/v1/payment_intents")) == 1


def test_missing_payment_method_on_get_and_update(stub: StubStripe) -> None:
    gateway = _gateway(stub.url)
    stub.on(
        "GET",
        "/v1/payment_methods/pm_1gone",
        _error(404, "invalid_request_error", code="resource_missing", param="id"),
    )
    with pytest.raises(PaymentMethodInvalid):
        gateway.get_card("pm_1gone")
    with pytest.raises(PaymentMethodInvalid):  # the stub's default answer is a bare 404
        gateway.update_card("pm_1gone", exp_month=4)


def test_card_number_like_ids_are_refused_before_any_request(stub: StubStripe) -> None:
    gateway = _gateway(stub.url)
    for value in ("4242424242424242", "4242-4242-4242-4242", "pm_4242 4242 4242 4242"):
        with pytest.raises(PaymentMethodInvalid):
            gateway.get_card(value)
        with pytest.raises(PaymentMethodInvalid):
            _stub_charge(gateway, payment_method_id=value)
    assert stub.seen == []


def test_raw_stripe_messages_never_reach_the_error(stub: StubStripe) -> None:
    body = _fixture("insufficient_funds")
    method = dict(body["error"]["payment_method"], customer=None)
    stub.on("GET", f"/v1/payment_methods/{method['id']}", Reply(200, method))
    stub.on("POST", f"/v1/payment_methods/{method['id']}/attach", Reply(402, body))
    with pytest.raises(CardDeclined) as declined:
        _gateway(stub.url).attach_card("cus_T3stCustomer0001", method["id"])
    rendered = json.dumps([str(declined.value), declined.value.extra, declined.value.params])
    assert body["error"]["message"] not in rendered
    assert declined.value.__cause__ is None and declined.value.__suppress_context__


def test_worst_case_seconds_counts_every_attempt_and_the_backoff() -> None:
    gateway = StripeGateway(
        Settings(), connect_timeout=2.0, read_timeout=7.0, max_network_retries=2
    )
    assert gateway.worst_case_seconds == pytest.approx(3 * 9.0 + 0.5 + 1.0)
    assert gateway.worst_case_seconds < 29  # fits API Gateway's timeout
    single = StripeGateway(Settings(), connect_timeout=1.0, read_timeout=1.0, max_network_retries=0)
    assert single.worst_case_seconds == pytest.approx(2.0)


# =============================================================================================
# 4. Refunds: the contract (localstripe and the fake) and the translation (the stub)
# =============================================================================================
# What localstripe (1.15) does with refunds, read from its ``resources.py``: ``POST /v1/refunds``
# with ``payment_intent`` (or ``charge``), ``amount`` and ``metadata`` succeeds at once
# (``status: succeeded``); it refuses a failed payment (400) and any other parameter
# (``reason`` included: the adapter sends it outside the local stage only); it ignores
# idempotency keys and does not check the amount against what is left.  So "never above what
# is left" and "the same key replays the first refund" are checked on the fake here and on the
# recorded Stripe answers below; the service never asks for more than is refundable.


def _paid(backend: Backend) -> str:
    customer = _customer(backend)
    card = backend.new_card("4242424242424242")
    backend.gateway.attach_card(customer, card)
    outcome = _charge(backend, customer, card)
    assert outcome.status == "succeeded" and outcome.payment_intent_id
    return str(outcome.payment_intent_id)


def test_full_and_partial_refunds_of_a_payment(backend: Backend) -> None:
    intent = _paid(backend)
    part = backend.gateway.refund(
        intent, 500, f"refund:{uuid.uuid4().hex}", {"credit_note_id": "a"}
    )
    assert (part.status, part.amount) == ("succeeded", 500)
    assert part.refund_id and part.refund_id.startswith("re_")
    rest = backend.gateway.refund(intent, 1000, f"refund:{uuid.uuid4().hex}", {})
    assert (rest.status, rest.amount) == ("succeeded", 1000) and rest.refund_id != part.refund_id


def test_a_refund_is_found_by_the_credit_note_in_its_metadata(backend: Backend) -> None:
    """``find_refund``, what reconciliation asks once a refund's key is over 24 hours old
    (localstripe ignores idempotency keys, so the replay itself is checked on the fake and
    the stub; its refunds list filters by PaymentIntent as Stripe's does)."""
    intent = _paid(backend)
    other = _paid(backend)
    note = f"cn_{uuid.uuid4().hex}"
    assert backend.gateway.find_refund(intent, note) is None  # never reached Stripe
    made = backend.gateway.refund(intent, 700, f"refund:{note}", {"credit_note_id": note})
    backend.gateway.refund(intent, 300, f"refund:{uuid.uuid4().hex}", {"credit_note_id": "cn_x"})
    backend.gateway.refund(other, 200, f"refund:{uuid.uuid4().hex}", {"credit_note_id": note})
    found = backend.gateway.find_refund(intent, note)
    assert found is not None
    assert (found.status, found.refund_id, found.amount) == ("succeeded", made.refund_id, 700)


def test_a_failed_payment_cannot_be_refunded(backend: Backend) -> None:
    customer = _customer(backend)
    card = backend.new_card("4000000000000341")
    backend.gateway.attach_card(customer, card)
    declined = _charge(backend, customer, card)
    assert declined.status == "declined"
    # localstripe's decline names no PaymentIntent: find it by its customer
    intent = declined.payment_intent_id or _latest_intent(backend, customer)
    with pytest.raises(PaymentRequestRejected):
        backend.gateway.refund(intent, 1500, f"refund:{uuid.uuid4().hex}", {})


def _latest_intent(backend: Backend, customer: str) -> str:
    if isinstance(backend.gateway, FakePaymentGateway):
        return backend.gateway.charges[-1].payment_intent_id
    settings = backend.gateway._settings  # type: ignore[attr-defined]
    # every page: in a whole run localstripe holds hundreds of intents, oldest first
    pages = _stripe_client(settings).v1.payment_intents.list(params={"limit": 100})
    return str(next(i.id for i in pages.auto_paging_iter() if i.customer == customer))


def test_the_fake_refunds_like_stripe_never_above_what_is_left_and_replays_a_key() -> None:
    backend_fake = FakePaymentGateway()
    customer = backend_fake.create_customer("a", "a@example.com", "Ada", "customer:a")
    card = backend_fake.add_test_card("4242424242424242")
    backend_fake.attach_card(customer, card)
    intent = backend_fake.charge(customer, card, 1500, "EUR", "k", "d", {}, True).payment_intent_id
    assert intent is not None
    first = backend_fake.refund(intent, 1000, "refund:cn1", {})
    assert backend_fake.refund(intent, 1000, "refund:cn1", {}) == first  # a replay
    with pytest.raises(PaymentRequestRejected) as other:
        backend_fake.refund(intent, 900, "refund:cn1", {})
    assert other.value.stripe_code == "idempotency_error"
    with pytest.raises(PaymentRequestRejected) as too_much:
        backend_fake.refund(intent, 501, "refund:cn2", {})
    assert too_much.value.stripe_code == "amount_too_large"
    backend_fake.refund(intent, 500, "refund:cn3", {})
    with pytest.raises(PaymentRequestRejected) as done:
        backend_fake.refund(intent, 1, "refund:cn4", {})
    assert done.value.stripe_code == "charge_already_refunded"
    assert [r.amount for r in backend_fake.refunds] == [1000, 500]


def _refund_body(status: str, **extra: Any) -> dict[str, Any]:
    """A Refund object as Stripe returns it (docs.stripe.com/api/refunds/object)."""
    return {
        "id": "re_3stub",
        "object": "refund",
        "amount": 600,
        "currency": "eur",
        "payment_intent": "pi_3stub",
        "charge": "ch_3stub",
        "metadata": {"credit_note_id": "cn_1"},
        "reason": "requested_by_customer",
        "status": status,
        **extra,
    }


def test_refund_sends_the_credit_notes_key_and_translates_the_answer(stub: StubStripe) -> None:
    stub.on("POST", "/v1/refunds", Reply(200, _refund_body("succeeded")))
    outcome = _gateway(stub.url).refund("pi_3stub", 600, "refund:cn_1", {"credit_note_id": "cn_1"})
    assert (outcome.status, outcome.refund_id, outcome.amount) == ("succeeded", "re_3stub", 600)
    (sent,) = stub.requests_to("POST", "/v1/refunds")
    assert sent.headers["idempotency-key"] == "refund:cn_1"
    form = {key: values[0] for key, values in sent.form.items()}
    assert form == {
        "payment_intent": "pi_3stub",
        "amount": "600",
        "metadata[credit_note_id]": "cn_1",
        "reason": "requested_by_customer",
    }
    _gateway(stub.url, stage="local").refund("pi_3stub", 600, "refund:cn_2", {})
    assert "reason" not in stub.requests_to("POST", "/v1/refunds")[-1].form  # localstripe


def test_find_refund_lists_the_payments_refunds_and_prefers_a_succeeded_one(
    stub: StubStripe,
) -> None:
    listed = {
        "object": "list",
        "url": "/v1/refunds",
        "has_more": False,
        "data": [
            _refund_body("failed", id="re_1", failure_reason="expired_or_canceled_card"),
            _refund_body("succeeded", id="re_2"),
            _refund_body("succeeded", id="re_3", metadata={"credit_note_id": "cn_2"}),
        ],
    }
    stub.on("GET", "/v1/refunds", Reply(200, listed))
    found = _gateway(stub.url).find_refund("pi_3stub", "cn_1")
    assert found is not None and (found.status, found.refund_id) == ("succeeded", "re_2")
    (sent,) = stub.requests_to("GET", "/v1/refunds")
    assert sent.form["payment_intent"] == ["pi_3stub"]
    assert _gateway(stub.url).find_refund("pi_3stub", "cn_9") is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [("pending", "pending"), ("requires_action", "pending"), ("failed", "failed")],
)
def test_unsettled_and_failed_refunds(stub: StubStripe, status: str, expected: str) -> None:
    extra = {"failure_reason": "expired_or_canceled_card"} if status == "failed" else {}
    stub.on("POST", "/v1/refunds", Reply(200, _refund_body(status, **extra)))
    outcome = _gateway(stub.url).refund("pi_3stub", 600, "refund:cn_1", {})
    assert outcome.status == expected
    if expected == "failed":
        assert outcome.failure_code == "expired_or_canceled_card"


def test_a_refund_stripe_refuses_is_rejected_with_its_code(stub: StubStripe) -> None:
    stub.on(
        "POST",
        "/v1/refunds",
        _error(400, "invalid_request_error", code="charge_already_refunded"),
    )
    with pytest.raises(PaymentRequestRejected) as rejected:
        _gateway(stub.url).refund("pi_3stub", 600, "refund:cn_1", {})
    assert rejected.value.stripe_code == "charge_already_refunded"
    assert len(stub.requests_to("POST", "/v1/refunds")) == 1  # a 4xx is not retried


def test_a_refund_whose_answer_is_lost_is_unknown_and_replayed_with_its_key(
    stub: StubStripe,
) -> None:
    stub.on("POST", "/v1/refunds", Reply(200, _refund_body("succeeded"), delay=1.0))
    gateway = _gateway(stub.url, read_timeout=0.3, retries=1)
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        gateway.refund("pi_3stub", 600, "refund:cn_1", {})
    assert unknown.value.idempotency_key == "refund:cn_1"
    stub.on("POST", "/v1/refunds", _error(500, "api_error"))
    with pytest.raises(PaymentOutcomeUnknown):
        gateway.refund("pi_3stub", 600, "refund:cn_1", {})
    stub.on("POST", "/v1/refunds", Reply(200, _refund_body("succeeded")))
    assert gateway.refund("pi_3stub", 600, "refund:cn_1", {}).status == "succeeded"
    assert {s.headers["idempotency-key"] for s in stub.requests_to("POST", "/v1/refunds")} == {
        "refund:cn_1"
    }


def test_refund_arguments_are_checked_before_any_request(stub: StubStripe) -> None:
    gateway = _gateway(stub.url)
    for intent, amount, key in (("ch_1", 100, "k"), ("pi_1", 0, "k"), ("pi_1", 100, "")):
        with pytest.raises(ValueError):
            gateway.refund(intent, amount, key, {})
    assert stub.seen == []
