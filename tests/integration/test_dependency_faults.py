"""DynamoDB transport faults through HTTP: 503 in the contract's format, never a 500, nothing lost.

The faults are injected under the real ``DynamoRepository`` (over the embedded moto server):
botocore's HTTP session is patched so that chosen DynamoDB operations time out, are refused,
reset, throttled or answered 500, either before the request reaches moto (nothing applied) or
after moto applied it (the answer is lost).  botocore's own retries run as in production (its
backoff is set to zero so the tests do not sleep).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.httpsession import URLLib3Session
from botocore.retries.standard import ExponentialBackoff

from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD, Answer, Api


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _error_response(url: str, status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "x"})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    return AWSResponse(url, status, headers, _Body(body.encode()))  # type: ignore[arg-type]


FAULTS: dict[str, Callable[[Any, Callable[[], Any]], Any]] = {
    # nothing reaches DynamoDB
    "refused": lambda r, send: (_ for _ in ()).throw(EndpointConnectionError(endpoint_url=r.url)),
    "timeout": lambda r, send: (_ for _ in ()).throw(ReadTimeoutError(endpoint_url=r.url)),
    "throttled": lambda r, send: _error_response(
        r.url, 400, "ProvisionedThroughputExceededException"
    ),
    "throttling": lambda r, send: _error_response(r.url, 400, "ThrottlingException"),
    "request_limit": lambda r, send: _error_response(r.url, 400, "RequestLimitExceeded"),
    # DynamoDB applied it and the answer is lost
    "lost_answer": lambda r, send: (send(), ReadTimeoutError(endpoint_url=r.url))[1],
    "reset_after": lambda r, send: (
        send(),
        ConnectionClosedError(endpoint_url=r.url),
    )[1],
    "server_error": lambda r, send: _error_response(r.url, 500, "InternalServerError"),
}


@dataclass
class Injector:
    """Which DynamoDB operations fail, how, and what was attempted."""

    operations: set[str] = field(default_factory=set)
    fault: str = "timeout"
    attempts: list[str] = field(default_factory=list)

    def fail(self, fault: str, *operations: str) -> None:
        self.fault, self.operations = fault, set(operations)
        self.attempts.clear()

    def heal(self) -> None:
        self.operations = set()


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Injector]:
    injector = Injector()
    original = URLLib3Session.send

    def send(session: URLLib3Session, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.rpartition(".")[2] if target.startswith("DynamoDB_") else ""
        if operation not in injector.operations:
            return original(session, request)
        injector.attempts.append(operation)
        outcome = FAULTS[injector.fault](request, lambda: original(session, request))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(URLLib3Session, "send", send)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    yield injector


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def signup_body(email: str) -> dict[str, Any]:
    return {"email": email, "password": PASSWORD, "name": "Ada", "country": "FR"}


def assert_503(answer: Answer, code: str, locale: str = "en") -> None:
    assert answer.status == 503, answer.raw
    body = answer.json
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in answer.raw.decode() and "botocore" not in answer.raw.decode()


@pytest.mark.parametrize("fault", ["timeout", "refused", "throttled", "throttling"])
def test_sign_up_refused_by_dynamodb_is_a_503_and_stores_nothing(
    api: Api, faults: Injector, fault: str
) -> None:
    email = unique_email("fault")
    faults.fail(fault, "TransactWriteItems")
    answer = api.call("POST", "/signup", signup_body(email))
    # a read timeout may hide a commit: the client is told so; a refusal changed nothing
    assert_503(answer, "write_outcome_unknown" if fault == "timeout" else "service_unavailable")
    assert len(faults.attempts) == 4  # botocore retried it (1 + 3), with the same token
    faults.heal()
    assert api.call("POST", "/login", {"email": email, "password": PASSWORD}).status == 401
    assert api.call("POST", "/signup", signup_body(email)).status == 201


@pytest.mark.parametrize("fault", ["lost_answer", "reset_after", "server_error"])
def test_sign_up_whose_answer_is_lost_is_unknown_and_the_account_is_kept(
    api: Api, faults: Injector, fault: str
) -> None:
    email = unique_email("lost")
    faults.fail(fault, "TransactWriteItems")
    assert_503(api.call("POST", "/signup", signup_body(email)), "write_outcome_unknown")
    faults.heal()
    if fault != "server_error":  # the transaction did commit: signing in works, no duplicate
        signed_in = api.call("POST", "/login", {"email": email, "password": PASSWORD})
        assert signed_in.status == 200, signed_in.json
        again = api.call("POST", "/signup", signup_body(email))
        assert (again.status, again.error_code) == (409, "email_taken")
    else:
        assert api.call("POST", "/signup", signup_body(email)).status == 201


def test_sign_up_answers_in_french_too(api: Api, faults: Injector) -> None:
    faults.fail("refused", "TransactWriteItems")
    answer = api.call(
        "POST", "/signup", signup_body(unique_email()), headers={"Accept-Language": "fr"}
    )
    assert_503(answer, "service_unavailable")
    assert "indisponible" in answer.json["error"]["message"]


@pytest.mark.parametrize("fault", ["timeout", "refused", "request_limit", "server_error"])
# a sign-in's requests: the BatchGet (marker with the account, buckets), the reservation and
# the commit (TransactWriteItems); no GetItem since the marker carries the account
@pytest.mark.parametrize("operation", ["BatchGetItem", "TransactWriteItems"])
def test_sign_in_is_a_503_never_a_500(
    api: Api, faults: Injector, box: Container, fault: str, operation: str
) -> None:
    email = unique_email("signin")
    api.signup(email)
    faults.fail(fault, operation)
    answer = api.call("POST", "/login", {"email": email, "password": PASSWORD})
    assert answer.status == 503, answer.json
    assert answer.json["error"]["code"] in {"service_unavailable", "write_outcome_unknown"}
    assert faults.attempts and set(faults.attempts) == {operation}
    faults.heal()
    assert api.call("POST", "/login", {"email": email, "password": PASSWORD}).status == 200


@pytest.mark.parametrize("fault", ["timeout", "refused", "throttled", "lost_answer"])
def test_get_account_is_a_503_and_the_account_is_intact(
    api: Api, faults: Injector, fault: str
) -> None:
    token, account = api.signup()
    faults.fail(fault, "BatchGetItem", "UpdateItem")
    answer = api.call("GET", "/account", token=token)
    assert_503(answer, "service_unavailable")  # reading changes nothing
    faults.heal()
    after = api.call("GET", "/account", token=token)
    assert after.status == 200 and after.json["email"] == account["email"]


def test_a_profile_update_whose_answer_is_lost_is_unknown_then_visible(
    api: Api, faults: Injector
) -> None:
    token, _ = api.signup()
    faults.fail("lost_answer", "TransactWriteItems")
    answer = api.call("PATCH", "/account/profile", {"name": "Grace Hopper"}, token=token)
    assert_503(answer, "write_outcome_unknown")
    faults.heal()
    assert api.call("GET", "/account", token=token).json["name"] == "Grace Hopper"


def test_the_invoice_list_is_a_503_when_dynamodb_is_unreachable(api: Api, faults: Injector) -> None:
    token, _ = api.signup()
    faults.fail("refused", "Query")
    assert_503(api.call("GET", "/billing/invoices", token=token), "service_unavailable")


# --- SQS (the charge-retry fan-out) ----------------------------------------------------------
def test_sqs_sends_batches_and_an_unreachable_queue_is_a_503(settings: Any) -> None:
    import uuid

    import boto3
    from msgspec.structs import replace

    from chalicelib.adapters.sqs import SqsChargeQueue
    from chalicelib.domain.errors import DependencyUnavailable
    from devstack.stack import free_port

    name = f"retry-{uuid.uuid4().hex[:8]}"
    sqs = boto3.client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url
    )
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    items = [(f"a{i}", f"c{i}") for i in range(13)]
    SqsChargeQueue(replace(settings, retry_queue_name=name)).send(items)
    received: list[dict[str, str]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        received.extend(json.loads(m["Body"]) for m in batch)
    assert sorted((m["account_id"], m["charge_id"]) for m in received) == sorted(items)

    down = replace(
        settings, aws_endpoint_url=f"http://127.0.0.1:{free_port()}", retry_queue_name=name
    )
    with pytest.raises(DependencyUnavailable):
        SqsChargeQueue(down).send(items)
    with pytest.raises(DependencyUnavailable):  # a queue that does not exist (ClientError)
        SqsChargeQueue(replace(settings, retry_queue_name=f"missing-{name}")).send(items)
