"""HTTP tests of the saved cards (``GET /billing/cards``, ``DELETE /billing/cards/{id}``,
``POST /billing/cards/{id}/default``) over DynamoDB (moto) and Stripe (localstripe, through
the real StripeGateway), with the bad inputs: the default card, another account's card, a
malformed id, an expired card, no token."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.wiring import Container
from tests.helpers import Api, create_payment_method


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def add_card(api: Api, settings: Settings, token: str, number: str, exp_year: int = 2031) -> str:
    card = create_payment_method(settings, number, exp_year=exp_year)
    answer = api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token)
    assert answer.status == 200, answer.json
    return card


def cards(api: Api, token: str) -> list[dict[str, Any]]:
    answer = api.call("GET", "/billing/cards", token=token)
    assert answer.status == 200, answer.json
    return list(answer.json["items"])


def test_cards_are_listed_default_first_made_default_and_removed(
    api: Api, settings: Settings, box: Container
) -> None:
    token, account = api.signup()
    assert cards(api, token) == []
    first = add_card(api, settings, token, "4242424242424242")
    second = add_card(api, settings, token, "5555555555554444", exp_year=2032)

    listed = cards(api, token)
    assert [c["id"] for c in listed] == [second, first]  # the new card is the default
    assert listed[0] == {
        "id": second,
        "brand": listed[0]["brand"],
        "last4": "4444",
        "exp_month": 12,
        "exp_year": 2032,
        "default": True,
        "expired": False,
    }
    assert listed[1]["last4"] == "4242" and listed[1]["default"] is False

    refused = api.call("DELETE", f"/billing/cards/{second}", token=token)
    assert (refused.status, refused.error_code) == (409, "default_card")

    made = api.call("POST", f"/billing/cards/{first}/default", token=token)
    assert made.status == 200, made.json
    assert [(c["id"], c["default"]) for c in made.json["items"]] == [(first, True), (second, False)]
    billing = api.call("GET", "/billing", token=token).json
    assert billing["card"]["last4"] == "4242"
    stored = box.repo.get_account(account["id"])
    assert stored is not None and stored.payment_method_id == first

    assert api.call("DELETE", f"/billing/cards/{second}", token=token).status == 204
    assert [c["id"] for c in cards(api, token)] == [first]
    again = api.call("DELETE", f"/billing/cards/{second}", token=token)
    assert (again.status, again.error_code) == (404, "card_not_found")
    gone = api.call("POST", f"/billing/cards/{second}/default", token=token)
    assert (gone.status, gone.error_code) == (404, "card_not_found")

    activity = api.call("GET", "/account/activity", token=token).json["items"]
    assert "card_removed" in [e["event"] for e in activity]


def test_another_accounts_card_or_a_malformed_id_is_not_found(api: Api, settings: Settings) -> None:
    mine, _ = api.signup()
    add_card(api, settings, mine, "4242424242424242")
    theirs, _ = api.signup()
    their_default = add_card(api, settings, theirs, "4242424242424242")
    their_other = add_card(api, settings, theirs, "5555555555554444")
    for card_id in (
        their_default,
        their_other,
        "pm_unknown0000000000000001",
        "nope",
        "4242424242424242",
    ):
        for method, path in (
            ("DELETE", f"/billing/cards/{card_id}"),
            ("POST", f"/billing/cards/{card_id}/default"),
        ):
            answer = api.call(method, path, token=mine)
            assert (answer.status, answer.error_code) == (404, "card_not_found"), (
                path,
                answer.json,
            )
    assert [c["id"] for c in cards(api, theirs)] == [their_other, their_default]  # untouched


def test_an_expired_saved_card_is_listed_as_such_and_cannot_become_the_default(
    api: Api, settings: Settings
) -> None:
    token, _ = api.signup()
    good = add_card(api, settings, token, "4242424242424242")
    expired = create_payment_method(settings, "5555555555554444", exp_year=2020)
    refused = api.call("PUT", "/billing/card", {"payment_method_id": expired}, token=token)
    assert (refused.status, refused.error_code) == (400, "card_expired")
    listed = {c["id"]: c for c in cards(api, token)}
    assert listed[expired]["expired"] is True and listed[good]["default"] is True  # attached
    made = api.call("POST", f"/billing/cards/{expired}/default", token=token)
    assert (made.status, made.error_code) == (400, "card_expired")
    assert api.call("DELETE", f"/billing/cards/{expired}", token=token).status == 204


def test_the_card_routes_need_a_session(api: Api) -> None:
    for method, path in (
        ("GET", "/billing/cards"),
        ("DELETE", "/billing/cards/pm_x"),
        ("POST", "/billing/cards/pm_x/default"),
    ):
        answer = api.call(method, path)
        assert (answer.status, answer.error_code) == (401, "not_authenticated")


READS = ("GetItem", "BatchGetItem", "Query")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")


def test_the_card_routes_keep_to_the_request_bars(
    api: Api, settings: Settings, calls: Counter[str]
) -> None:
    """At most 2 DynamoDB reads and 3 writes per call (DESIGN.md's bars); the list itself is
    read from Stripe, never from the table."""
    token, _ = api.signup()
    first = add_card(api, settings, token, "4242424242424242")
    second = add_card(api, settings, token, "5555555555554444")
    cards(api, token)  # the session's last_seen_at write happens here, not below
    counted = calls
    measured = {}
    for method, path, status in (
        ("GET", "/billing/cards", 200),
        ("POST", f"/billing/cards/{first}/default", 200),
        ("DELETE", f"/billing/cards/{second}", 204),
    ):
        counted.clear()
        assert api.call(method, path, token=token).status == status
        measured[method] = (
            sum(counted[o] for o in READS),
            sum(counted[o] for o in WRITES),
            counted["Scan"],
        )
    # the session's one BatchGet; the default change and the removal one commit each
    assert measured == {"GET": (1, 0, 0), "POST": (1, 1, 0), "DELETE": (1, 1, 0)}, measured
