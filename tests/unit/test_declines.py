"""The decline table, the payment errors and the FakePaymentGateway (no I/O).

The same table is driven through HTTP with recorded Stripe error bodies in
``tests/integration/test_stripe_gateway.py``; here it is checked directly, rule by rule
(advice first, then the decline code, fraud codes generic but hard), together with the
domain errors the API renders and the in-memory fake the service tests and benchmarks use.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.adapters.fake_payments import (
    REQUIRE_ACTION,
    TIME_OUT,
    CardBehaviour,
    FakePaymentGateway,
)
from chalicelib.domain.errors import DependencyUnavailable, InvalidInput, PaymentFailed
from chalicelib.domain.payments import (
    FRAUD_CODES,
    CardDeclined,
    ChargeOutcome,
    DeclineClass,
    DeclineInfo,
    Guidance,
    PaymentGatewayUnavailable,
    PaymentMethodInvalid,
    PaymentOutcomeUnknown,
    PaymentRequestRejected,
    check_payment_method_id,
    decline_guidance,
    looks_like_card_number,
)
from chalicelib.i18n import translate
from chalicelib.i18n.catalog import MESSAGES
from chalicelib.i18n.declines import DECLINE_MESSAGES

# =============================================================================================
# decline_guidance
# =============================================================================================


@pytest.mark.parametrize(
    ("code", "decline_code", "advice", "expected"),
    [
        ("incorrect_number", None, None, ("decline.check_card_details", True, "incorrect_number")),
        ("invalid_number", None, None, ("decline.check_card_details", True, "invalid_number")),
        (
            "invalid_expiry_month",
            None,
            None,
            ("decline.check_card_details", True, "invalid_expiry_month"),
        ),
        (
            "invalid_expiry_year",
            None,
            None,
            ("decline.check_card_details", True, "invalid_expiry_year"),
        ),
        ("expired_card", None, None, ("decline.check_card_details", True, "expired_card")),
        (
            "card_declined",
            "expired_card",
            None,
            ("decline.check_card_details", True, "expired_card"),
        ),
        ("incorrect_cvc", None, None, ("decline.check_cvc", True, "incorrect_cvc")),
        ("incorrect_zip", None, None, ("decline.check_address", True, "incorrect_zip")),
        ("card_declined", "incorrect_zip", None, ("decline.check_address", True, "incorrect_zip")),
        ("incorrect_address", None, None, ("decline.check_address", True, "incorrect_address")),
        (
            "card_declined",
            "insufficient_funds",
            None,
            ("decline.insufficient_funds", False, "insufficient_funds"),
        ),
        (
            "authentication_required",
            "authentication_required",
            None,
            ("decline.authentication_required", True, "authentication_required"),
        ),
        (
            "card_declined",
            "card_not_supported",
            None,
            ("decline.card_not_supported", True, "card_not_supported"),
        ),
        ("card_declined", "do_not_honor", None, ("decline.call_bank", False, "do_not_honor")),
        ("card_declined", "generic_decline", None, ("card_declined", False, "card_declined")),
        ("card_declined", None, None, ("card_declined", False, "card_declined")),
        ("card_declined", "a_code_from_2031", None, ("card_declined", False, "card_declined")),
        (
            "processing_error",
            None,
            None,
            ("decline.processing_error", False, "processing_error"),
        ),
        (None, None, None, ("card_declined", False, "card_declined")),
        (
            "card_declined",
            "do_not_try_again",
            None,
            ("decline.call_bank", True, "do_not_try_again"),
        ),
    ],
)
def test_the_decline_rules(
    code: str | None, decline_code: str | None, advice: str | None, expected: tuple[str, bool, str]
) -> None:
    guidance = decline_guidance(code, decline_code, advice)
    assert (guidance.message_key, guidance.hard, guidance.public_code) == expected


# Every code of Stripe's "Decline codes" page (docs.stripe.com/declines/codes), plus the card
# error code incorrect_address: its class and what the customer is told (G: the generic text).
S, H, R, N = "soft", "hard", "revoked", "needs_customer"
G = "card_declined"
EVERY_DECLINE_CODE: list[tuple[str, str, str]] = [
    ("authentication_required", N, "decline.authentication_required"),
    ("approve_with_id", S, "decline.approve_with_id"),
    ("call_issuer", H, "decline.call_issuer"),
    ("card_not_supported", H, "decline.card_not_supported"),
    ("card_velocity_exceeded", S, "decline.card_velocity_exceeded"),
    ("currency_not_supported", H, "decline.currency_not_supported"),
    ("do_not_honor", S, "decline.call_bank"),
    ("do_not_try_again", H, "decline.call_bank"),
    ("duplicate_transaction", S, "decline.duplicate_transaction"),
    ("expired_card", H, "decline.check_card_details"),
    ("fraudulent", H, G),
    ("generic_decline", S, G),
    ("incorrect_number", H, "decline.check_card_details"),
    ("incorrect_cvc", H, "decline.check_cvc"),
    ("incorrect_pin", H, "decline.pin_required"),
    ("incorrect_zip", H, "decline.check_address"),
    ("incorrect_address", H, "decline.check_address"),
    ("insufficient_funds", S, "decline.insufficient_funds"),
    ("invalid_account", H, "decline.invalid_account"),
    ("invalid_amount", H, "decline.call_bank"),
    ("invalid_cvc", H, "decline.check_cvc"),
    ("invalid_expiry_month", H, "decline.check_card_details"),
    ("invalid_expiry_year", H, "decline.check_card_details"),
    ("invalid_number", H, "decline.check_card_details"),
    ("invalid_pin", H, "decline.pin_required"),
    ("issuer_not_available", S, "decline.issuer_not_available"),
    ("lost_card", H, G),
    ("merchant_blacklist", H, G),
    ("new_account_information_available", H, "decline.new_account_information"),
    ("no_action_taken", H, "decline.call_bank"),
    ("not_permitted", H, "decline.call_bank"),
    ("offline_pin_required", H, "decline.pin_required"),
    ("online_or_offline_pin_required", H, "decline.pin_required"),
    ("pickup_card", H, G),
    ("pin_try_exceeded", H, "decline.pin_try_exceeded"),
    ("processing_error", S, "decline.processing_error"),
    ("reenter_transaction", S, "decline.try_again_later"),
    ("restricted_card", H, "decline.use_another_card"),
    ("revocation_of_all_authorizations", R, "decline.revoked"),
    ("revocation_of_authorization", R, "decline.revoked"),
    ("security_violation", H, "decline.use_another_card"),
    ("service_not_allowed", H, "decline.call_bank"),
    ("stolen_card", H, G),
    ("stop_payment_order", R, "decline.revoked"),
    ("testmode_decline", H, "decline.use_another_card"),
    ("transaction_not_allowed", H, "decline.use_another_card"),
    ("try_again_later", S, "decline.try_again_later"),
    ("withdrawal_count_limit_exceeded", S, "decline.withdrawal_count_limit_exceeded"),
]


def test_the_table_names_every_documented_code() -> None:
    from chalicelib.domain.payments import DECLINE_TABLE

    codes = [c for c, _, _ in EVERY_DECLINE_CODE]
    assert len(codes) == len(set(codes)) == 48  # 47 decline codes + incorrect_address
    assert set(codes) <= set(DECLINE_TABLE)


@pytest.mark.parametrize(("code", "klass", "message_key"), EVERY_DECLINE_CODE)
def test_every_decline_code_has_one_class_and_guidance(
    code: str, klass: str, message_key: str
) -> None:
    for guidance in (
        decline_guidance("card_declined", code, None),
        decline_guidance(code, None, None),
    ):
        assert guidance.decline_class.value == klass, code
        assert guidance.hard is (klass != S)
        assert guidance.message_key == message_key
        assert guidance.public_code == (G if message_key == G else code)
        english, french = translate(message_key, "en"), translate(message_key, "fr")
        assert english != message_key and french != message_key and english != french


@pytest.mark.parametrize(
    ("code", "advice", "klass"),
    [
        ("insufficient_funds", "do_not_try_again", H),
        ("insufficient_funds", "confirm_card_data", H),
        ("incorrect_cvc", "try_again_later", S),
        ("expired_card", "try_again_later", S),
        ("do_not_honor", "try_again_later", S),
        # no advice softens a revocation, a fraud code or an authentication request
        ("stop_payment_order", "try_again_later", R),
        ("revocation_of_authorization", "try_again_later", R),
        ("stolen_card", "try_again_later", H),
        ("authentication_required", "try_again_later", N),
        ("authentication_required", "do_not_try_again", N),
        ("a_code_from_2031", "do_not_try_again", H),
        ("a_code_from_2031", None, S),
    ],
)
def test_advice_codes_come_after_the_code(code: str, advice: str | None, klass: str) -> None:
    assert decline_guidance("card_declined", code, advice).decline_class.value == klass


def test_the_seed_reasons_come_out_for_their_codes() -> None:
    """Wrong number or expiry; address verification refusing cards from outside the US."""
    for code in ("incorrect_number", "invalid_number", "invalid_expiry_month", "expired_card"):
        text = translate(decline_guidance("card_declined", code).message_key, "en")
        assert "card number" in text and "expiry date" in text, code
        fr = translate(decline_guidance("card_declined", code).message_key, "fr")
        assert "numéro" in fr and "expiration" in fr
    for code in ("incorrect_zip", "incorrect_address"):
        text = translate(decline_guidance(code).message_key, "en")
        assert "outside the United States" in text and "postal code" in text


@pytest.mark.parametrize(
    "fraud", ["fraudulent", "lost_card", "stolen_card", "pickup_card", "merchant_blacklist"]
)
def test_fraud_codes_look_generic_but_stop_retries(fraud: str) -> None:
    assert fraud in FRAUD_CODES
    for advice in (None, "do_not_try_again", "try_again_later"):
        assert decline_guidance("card_declined", fraud, advice) == Guidance(
            "card_declined", True, "card_declined", DeclineClass.HARD
        )
    assert decline_guidance(fraud, None, None).public_code == "card_declined"


def test_issuer_advice_comes_before_the_decline_code() -> None:
    # do_not_try_again and confirm_card_data stop retries of otherwise soft declines
    assert decline_guidance("card_declined", "insufficient_funds", "do_not_try_again").hard
    assert decline_guidance("incorrect_cvc", "incorrect_cvc", "confirm_card_data").hard
    assert decline_guidance("incorrect_cvc", "incorrect_cvc", None).hard
    # try_again_later keeps retrying an otherwise hard decline
    assert not decline_guidance("expired_card", "expired_card", "try_again_later").hard
    assert decline_guidance("expired_card", "expired_card", "something_new").hard
    # advice never changes what the customer is told
    assert (
        decline_guidance("card_declined", "do_not_honor", "do_not_try_again").message_key
        == "decline.call_bank"
    )


def test_decline_info_and_outcome_carry_their_guidance() -> None:
    info = DeclineInfo("card_declined", "insufficient_funds", "try_again_later")
    assert info.guidance == decline_guidance(
        "card_declined", "insufficient_funds", "try_again_later"
    )
    assert ChargeOutcome("declined", "pi_1", failure=info).guidance == info.guidance
    assert ChargeOutcome("succeeded", "pi_1").guidance is None


# =============================================================================================
# messages
# =============================================================================================


def _guidance_keys() -> set[str]:
    codes = [
        "incorrect_number",
        "invalid_number",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "expired_card",
        "incorrect_cvc",
        "incorrect_zip",
        "incorrect_address",
        "insufficient_funds",
        "authentication_required",
        "card_not_supported",
        "do_not_honor",
        *FRAUD_CODES,
        "anything_else",
    ]
    return {decline_guidance("card_declined", code).message_key for code in codes}


def test_every_guidance_key_is_in_the_catalogue_in_english_and_french() -> None:
    keys = (
        _guidance_keys()
        | {"card_declined", "invalid_payment_method"}
        | {key for _, _, key in EVERY_DECLINE_CODE}
    )
    assert len(keys) == 24
    for key in keys:
        assert key in DECLINE_MESSAGES, key
        assert MESSAGES[key] == DECLINE_MESSAGES[key], key  # merged into the catalogue
        english, french = translate(key, "en"), translate(key, "fr")
        assert english.strip() and french.strip() and english != french, key
    texts = {translate(key, "en") for key in keys}
    assert len(texts) == len(keys)  # one distinct sentence per key


def test_the_address_message_explains_address_verification() -> None:
    english = translate("decline.check_address", "en")
    french = translate("decline.check_address", "fr")
    assert "postal code" in english and "outside the United States" in english
    assert "code postal" in french and "hors des États-Unis" in french


def test_the_generic_message_reveals_nothing() -> None:
    for locale in ("en", "fr"):
        text = translate("card_declined", locale).lower()
        for word in ("fraud", "lost", "stolen", "perdue", "volée", "suspic"):
            assert word not in text


# =============================================================================================
# errors and PaymentMethod ids
# =============================================================================================


def test_card_declined_is_a_402_whose_message_is_the_guidance() -> None:
    error = CardDeclined(DeclineInfo("card_declined", "stolen_card"), payment_intent_id="pi_1")
    assert isinstance(error, PaymentFailed) and error.STATUS_CODE == 402
    assert error.code == "card_declined"
    assert error.message_key == "card_declined"
    assert error.extra == {"decline_code": "card_declined"}  # never "stolen_card"
    assert "stolen" not in str(error)
    assert error.guidance.hard and error.payment_intent_id == "pi_1"
    funds = CardDeclined(DeclineInfo("card_declined", "insufficient_funds"))
    assert funds.message_key == "decline.insufficient_funds"
    assert funds.extra == {"decline_code": "insufficient_funds"}
    assert translate(funds.message_key, "fr") == DECLINE_MESSAGES[funds.message_key]["fr"]


def test_the_other_payment_errors_map_to_their_statuses() -> None:
    invalid = PaymentMethodInvalid(reason="missing", field="payment_method_id")
    assert isinstance(invalid, InvalidInput) and invalid.STATUS_CODE == 400
    assert invalid.code == "invalid_payment_method"
    assert invalid.fields == {"payment_method_id": "invalid_payment_method"}
    unavailable = PaymentGatewayUnavailable(reason="rate_limited")
    assert isinstance(unavailable, DependencyUnavailable) and unavailable.STATUS_CODE == 503
    assert PaymentRequestRejected(stripe_code="x").STATUS_CODE == 500
    unknown = PaymentOutcomeUnknown(idempotency_key="charge:1:attempt:1", reason="connection")
    assert unknown.idempotency_key == "charge:1:attempt:1"
    assert not isinstance(unknown, PaymentFailed | DependencyUnavailable)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("4242424242424242", "card_number_like"),
        ("4242 4242 4242 4242", "card_number_like"),
        ("5555-5555-5555-4444", "card_number_like"),
        ("pm_4000002500003155", "card_number_like"),
        ("378282246310005", "card_number_like"),  # Amex, 15 digits
        ("card_1AbC", "malformed"),
        ("pm_", "malformed"),
        ("pm_abc def", "malformed"),
        ("", "malformed"),
        ("4242424242424241", "malformed"),  # fails Luhn: not a card number, not an id either
    ],
)
def test_payment_method_ids_are_checked(value: str, reason: str) -> None:
    with pytest.raises(PaymentMethodInvalid) as invalid:
        check_payment_method_id(value)
    assert invalid.value.reason == reason
    assert value.strip() == "" or value not in str(invalid.value)


@pytest.mark.parametrize("value", ["pm_card_visa", "pm_1NvQWf2eZvKYlo2C8Vw0gsbA", "pm_fQN5aapsX3"])
def test_real_payment_method_ids_pass(value: str) -> None:
    assert check_payment_method_id(value) == value
    assert not looks_like_card_number(value)


# =============================================================================================
# FakePaymentGateway
# =============================================================================================


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _setup(
    behaviour: CardBehaviour | None = None, **kwargs: Any
) -> tuple[FakePaymentGateway, str, str]:
    fake = FakePaymentGateway(**kwargs)
    customer = fake.create_customer("acc1", "ada@example.com", "Ada", "customer:acc1")
    card = fake.add_card(behaviour) if behaviour else fake.add_card()
    fake.attach_card(customer, card)
    return fake, customer, card


def _pay(
    fake: FakePaymentGateway,
    customer: str,
    card: str,
    key: str = "charge:c1:attempt:1",
    *,
    amount: int = 1500,
    off_session: bool = True,
) -> ChargeOutcome:
    return fake.charge(customer, card, amount, "EUR", key, "Pro", {"charge_id": "c1"}, off_session)


def test_fake_replays_an_idempotency_key_without_charging_twice() -> None:
    fake, customer, card = _setup()
    first = _pay(fake, customer, card)
    again = _pay(fake, customer, card)
    assert first.status == "succeeded" and again == first
    assert len(fake.charges) == 1 and fake.calls["charge:c1:attempt:1"] == 2
    second = _pay(fake, customer, card, "charge:c1:attempt:2")
    assert second.payment_intent_id != first.payment_intent_id
    assert len(fake.charges) == 2 and len(fake.charges_with_key("charge:c1:attempt:2")) == 1
    with pytest.raises(PaymentRequestRejected):  # same key, other parameters: Stripe refuses
        _pay(fake, customer, card, amount=999)
    assert len(fake.charges) == 2


def test_fake_creates_one_customer_per_key() -> None:
    fake = FakePaymentGateway()
    first = fake.create_customer("a1", "a@example.com", "A", "customer:a1")
    assert fake.create_customer("a1", "a@example.com", "A", "customer:a1") == first
    assert fake.create_customer("a2", "b@example.com", "B", "customer:a2") != first
    with pytest.raises(PaymentRequestRejected):
        fake.create_customer("a3", "c@example.com", "C", "customer:a1")


def test_fake_declines_with_the_configured_decline() -> None:
    info = DeclineInfo("card_declined", "insufficient_funds", "try_again_later")
    fake, customer, card = _setup(CardBehaviour.declines(info))
    outcome = _pay(fake, customer, card)
    assert outcome.status == "declined" and outcome.failure == info
    assert outcome.guidance is not None and outcome.guidance.message_key == (
        "decline.insufficient_funds"
    )
    assert not fake.charges[0].succeeded
    fake.set_behaviour(card, CardBehaviour())
    assert _pay(fake, customer, card, "charge:c1:attempt:2").status == "succeeded"


def test_fake_declines_at_attach_and_keeps_the_old_default() -> None:
    fake, customer, card = _setup()
    stolen = fake.add_test_card("4000000000009979")
    with pytest.raises(CardDeclined) as declined:
        fake.attach_card(customer, stolen)
    assert declined.value.message_key == "card_declined" and declined.value.guidance.hard
    assert fake.default_payment_method(customer) == card
    with pytest.raises(PaymentMethodInvalid):  # never attached: cannot be charged
        _pay(fake, customer, stolen)


def test_fake_requires_action_on_session_and_declines_hard_off_session() -> None:
    fake, customer, card = _setup(REQUIRE_ACTION)
    off = _pay(fake, customer, card, "k-off")
    assert off.status == "declined" and off.guidance is not None and off.guidance.hard
    assert off.failure == DeclineInfo("authentication_required", "authentication_required")
    on = _pay(fake, customer, card, "k-on", off_session=False)
    assert on.status == "requires_action" and on.client_secret
    assert on.payment_intent_id is not None
    assert fake.find_payment(on.payment_intent_id).status == "requires_action"
    assert fake.authenticate(on.payment_intent_id).status == "succeeded"
    assert fake.find_payment(on.payment_intent_id).status == "succeeded"
    assert [c.succeeded for c in fake.charges] == [False, True]
    assert _pay(fake, customer, card, "k-on", off_session=False) == on  # replay: first answer


def test_fake_timeout_after_charging_is_unknown_and_reconciles_by_replay() -> None:
    fake, customer, card = _setup(TIME_OUT)
    with pytest.raises(PaymentOutcomeUnknown) as unknown:
        _pay(fake, customer, card)
    assert unknown.value.idempotency_key == "charge:c1:attempt:1"
    assert len(fake.charges) == 1 and fake.charges[0].succeeded  # the money did move
    replay = _pay(fake, customer, card)
    assert replay.status == "succeeded"
    assert replay.payment_intent_id == fake.charges[0].payment_intent_id
    assert len(fake.charges) == 1
    assert fake.find_payment(fake.charges[0].payment_intent_id).status == "succeeded"


def test_fake_sleeps_its_latency_on_every_request() -> None:
    sleep = SleepRecorder()
    fake, customer, card = _setup(latency=0.2, sleep=sleep)
    assert sleep.calls == [0.2, 0.2]  # create_customer, attach_card
    _pay(fake, customer, card)
    _pay(fake, customer, card)
    fake.get_card(card)
    assert sleep.calls == [0.2] * 5
    assert fake.requests == 5 and len(fake.request_times) == 5
    assert fake.request_times == sorted(fake.request_times)


def test_fake_without_latency_does_not_sleep() -> None:
    sleep = SleepRecorder()
    fake, customer, card = _setup(sleep=sleep)
    _pay(fake, customer, card)
    assert sleep.calls == []


def test_fake_unavailable_refuses_before_any_effect() -> None:
    fake, customer, card = _setup()
    fake.unavailable = True
    with pytest.raises(PaymentGatewayUnavailable):
        _pay(fake, customer, card)
    assert fake.charges == [] and fake.calls["charge:c1:attempt:1"] == 0


def test_fake_card_updates_merge_and_unknown_cards_are_invalid() -> None:
    fake, customer, card = _setup()
    fake.update_card(card, exp_month=4, exp_year=2032, postal_code="75001", line1="1 rue X")
    summary = fake.update_card(card, name="Ada King", country="FR", city="Paris")
    assert (summary.line1, summary.city) == ("1 rue X", "Paris")  # kept, shown back
    assert (summary.brand, summary.last4, summary.exp_month, summary.exp_year) == (
        "visa",
        "4242",
        4,
        2032,
    )
    assert (summary.name, summary.postal_code, summary.country) == ("Ada King", "75001", "FR")
    assert fake.get_card(card) == summary
    with pytest.raises(PaymentMethodInvalid):
        fake.get_card("pm_unknown")
    with pytest.raises(PaymentMethodInvalid):
        fake.attach_card(customer, "4242424242424242")
    with pytest.raises(ValueError):
        _pay(fake, customer, card, amount=0)


def _run_threads(count: int, target: Callable[[int], None]) -> None:
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        target(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


def test_fake_is_thread_safe_one_charge_per_key_under_contention() -> None:
    fake, customer, card = _setup(latency=0.001)
    outcomes: list[ChargeOutcome] = []
    lock = threading.Lock()

    def pay(index: int) -> None:
        outcome = _pay(fake, customer, card, f"charge:c{index % 4}:attempt:1")
        with lock:
            outcomes.append(outcome)

    _run_threads(32, pay)
    assert len(outcomes) == 32
    assert len(fake.charges) == 4  # one PaymentIntent per key, whatever the interleaving
    assert sorted(fake.calls.values()) == [8, 8, 8, 8]
    by_key = {c.idempotency_key: c.payment_intent_id for c in fake.charges}
    assert len(set(by_key.values())) == 4
    assert {o.payment_intent_id for o in outcomes} == set(by_key.values())


def test_the_api_renders_a_decline_with_its_guidance() -> None:
    from chalicelib.api.http import error_response

    error = CardDeclined(DeclineInfo("card_declined", "lost_card", "do_not_try_again"))
    response = error_response(error, "fr")
    body = json.loads(response.body)
    assert response.status_code == 402
    assert body["error"]["code"] == "card_declined"
    assert body["error"]["decline_code"] == "card_declined"
    assert body["error"]["message"] == DECLINE_MESSAGES["card_declined"]["fr"]
    zip_error = CardDeclined(DeclineInfo("incorrect_zip", "incorrect_zip"))
    zip_body = json.loads(error_response(zip_error, "en").body)
    assert zip_body["error"]["message"] == DECLINE_MESSAGES["decline.check_address"]["en"]
    assert zip_body["error"]["decline_code"] == "incorrect_zip"
