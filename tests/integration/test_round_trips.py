"""DynamoDB round trips and clients, over the real repository on the embedded moto server.

* One botocore client for the whole process: every model, the ``work_queue`` index and the
  transactions share one connection (``models.configure``), built once, on one session
  (``adapters.aws``) that the Secrets Manager client shares too.
* The invoice routes (JSON, print, PDF) read the invoice in the authentication's BatchGet:
  one DynamoDB request in all (the PDF route its stored PDF too; drawn the first time, it is
  stored with one PutItem); another account's invoice, or a malformed id, is still a 404.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.session import Session

from chalicelib.adapters import aws
from chalicelib.adapters.dynamo.models import MODELS, TableItem, configure
from chalicelib.adapters.dynamo.repository import DynamoRepository
from chalicelib.config import Settings
from chalicelib.domain.account import AccountChange, Marker, MarkerKind
from chalicelib.domain.ids import new_id
from tests.helpers import Api, create_payment_method


@pytest.fixture
def clients_made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    made: list[str] = []
    original = Session.create_client

    def creating(self: Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return original(self, service_name, *args, **kwargs)

    monkeypatch.setattr(Session, "create_client", creating)
    yield made


def test_every_model_the_index_and_the_transactions_share_one_client(
    settings: Settings, clients_made: list[str]
) -> None:
    from chalicelib.adapters.dynamo.models import AccountItem, InvoiceItem, SessionItem

    repo = DynamoRepository(settings)
    connections = {id(model._get_connection()) for model in MODELS}
    assert len(connections) == 1
    assert repo._connection is TableItem._get_connection().connection
    assert repo.get_account("nobody") is None  # GetItem (AccountItem)
    assert repo.get_session("nobody", "x") == (None, None)  # BatchGet (TableItem)
    assert repo.list_invoices("nobody", 5, None) == ([], None)  # Query (InvoiceItem)
    assert isinstance(repo.due_mail(repo_now(), 5), list)  # index Query (work_queue)
    marker = Marker(MarkerKind.EVENT, new_id(), "v")
    repo.commit(AccountChange(markers=(marker,)))  # TransactWrite (repository)
    assert AccountItem._get_connection() is SessionItem._get_connection()
    assert InvoiceItem._get_connection().connection.client is repo._connection.client
    assert clients_made == ["dynamodb"]
    assert TableItem._get_connection().connection.session is aws.session()


def repo_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_configure_points_the_shared_connection_at_the_new_endpoint(settings: Settings) -> None:
    from msgspec.structs import replace

    other = replace(settings, table_name="another-table", aws_endpoint_url="http://127.0.0.1:9")
    configure(other)
    try:
        connection = TableItem._get_connection()
        assert connection.table_name == "another-table"
        assert connection.connection.host == "http://127.0.0.1:9"
        assert {id(m._get_connection()) for m in MODELS} == {id(connection)}
    finally:
        configure(settings)


def _invoice(api: Api, settings: Settings) -> tuple[str, str]:
    token, _ = api.signup()
    card = create_payment_method(settings, "4242424242424242")
    assert api.call("PUT", "/billing/card", {"payment_method_id": card}, token=token).status == 200
    subscribed = api.call("POST", "/billing/subscribe", {"plan": "basic-monthly"}, token=token)
    assert subscribed.status == 200
    listed = api.call("GET", "/billing/invoices", token=token).json
    return token, listed["items"][0]["id"]


@pytest.mark.parametrize("suffix", ["", "/print", "/pdf"])
def test_an_invoice_route_is_one_round_trip(
    api: Api, settings: Settings, calls: Counter[str], suffix: str
) -> None:
    token, invoice_id = _invoice(api, settings)
    calls.clear()
    answer = api.call(
        "GET",
        f"/billing/invoices/{invoice_id}{suffix}",
        token=token,
        headers={"Accept": "application/pdf"} if suffix == "/pdf" else None,
    )
    assert answer.status == 200
    if suffix == "/pdf":  # not drawn before (no stream poller here): drawn now and stored
        assert dict(calls) == {"BatchGetItem": 1, "PutItem": 1}
        calls.clear()
        again = api.call(
            "GET",
            f"/billing/invoices/{invoice_id}{suffix}",
            token=token,
            headers={"Accept": "application/pdf"},
        )
        assert again.status == 200 and again.raw == answer.raw  # the stored PDF
    assert dict(calls) == {"BatchGetItem": 1}
    if not suffix:
        assert answer.json["id"] == invoice_id


def test_another_accounts_invoice_read_ahead_is_still_a_404(
    api: Api, settings: Settings, calls: Counter[str]
) -> None:
    _, invoice_id = _invoice(api, settings)
    stranger, _ = api.signup()
    calls.clear()
    answer = api.call("GET", f"/billing/invoices/{invoice_id}", token=stranger)
    assert (answer.status, answer.error_code) == (404, "invoice_not_found")
    assert dict(calls) == {"BatchGetItem": 1}
    malformed = api.call("GET", "/billing/invoices/in_" + "x" * 2000, token=stranger)
    assert (malformed.status, malformed.error_code) == (404, "invoice_not_found")
    after = api.call("GET", "/billing/invoices", token=stranger)
    assert after.status == 200 and after.json["items"] == []


READS = ("GetItem", "BatchGetItem", "Query", "Scan")


def _reads(calls: Counter[str]) -> dict[str, int]:
    return {op: n for op, n in calls.items() if op in READS}


def test_a_sign_in_reads_the_marker_and_the_account_in_one_request(
    api: Api, calls: Counter[str]
) -> None:
    from tests.conftest import unique_email
    from tests.helpers import PASSWORD

    email = unique_email("oneread")
    api.signup(email)
    calls.clear()
    answer = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert answer.status == 200 and answer.json["account"]["email"] == email
    assert _reads(calls) == {"BatchGetItem": 1}
    assert answer.json["pending_payment"] is None


def test_the_marker_copy_follows_every_account_change(api: Api, calls: Counter[str]) -> None:
    """A change of name, then of password: sign-in sees both from the marker's copy alone."""
    from tests.conftest import unique_email
    from tests.helpers import PASSWORD

    email = unique_email("copy")
    token, _ = api.signup(email)
    renamed = api.call("PATCH", "/account/profile", {"name": "Grace Hopper"}, token=token)
    assert renamed.status == 200
    new_password = "another long passphrase 42"
    changed = api.call(
        "POST",
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm_password": new_password,
        },
        token=token,
    )
    assert changed.status == 204
    calls.clear()
    old = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert (old.status, old.error_code) == (401, "invalid_credentials")
    signed_in = api.call("POST", "/login", {"email": email, "password": new_password})
    assert signed_in.status == 200 and signed_in.json["account"]["name"] == "Grace Hopper"
    assert calls["GetItem"] == 0


def test_a_past_due_sign_in_reads_what_is_owed_in_the_second_read(
    api: Api, settings: Settings, box: Any, calls: Counter[str]
) -> None:
    from tests.helpers import PASSWORD
    from tests.integration.test_http_dunning import past_due

    email, _ = past_due(api, settings, box)
    calls.clear()
    answer = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert answer.status == 200 and answer.json["account"]["status"] == "past_due"
    assert len(answer.json["pending_payment"]["items"]) == 1
    assert _reads(calls) == {"BatchGetItem": 1, "Query": 1}
