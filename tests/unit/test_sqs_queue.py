"""The SQS charge queue with a stubbed client: batches of ten, ``Failed`` entries sent once
more then a 503, and the message format owned (encoded and decoded) by ``adapters/sqs.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.sqs import SqsChargeQueue, decode_message, encode_message
from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.jobs.run import consume_retry_messages
from chalicelib.wiring import Container


class StubSqs:
    """``send_message_batch`` answering ``Failed`` for the ids of ``fail`` (one set per call,
    then nothing fails)."""

    def __init__(self, *fail: set[str]) -> None:
        self.fail = list(fail)
        self.batches: list[list[dict[str, str]]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs.local/{QueueName}"}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.batches.append(Entries)
        failing = self.fail.pop(0) if self.fail else set()
        failed = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False}
            for e in Entries
            if e["Id"] in failing
        ]
        ok = [
            {"Id": e["Id"], "MessageId": f"m{e['Id']}"} for e in Entries if e["Id"] not in failing
        ]
        return {"Successful": ok, "Failed": failed}


def queue(stub: StubSqs) -> SqsChargeQueue:
    sqs = SqsChargeQueue(Settings())
    sqs.__dict__["_client"] = stub  # the cached_property's value: no boto3 client is built
    return sqs


ITEMS = [(f"acct{i}", f"in_{i}") for i in range(13)]


def test_batches_of_ten_in_the_format_the_consumer_decodes() -> None:
    stub = StubSqs()
    assert queue(stub).send(ITEMS) == {"due": 13}
    assert [len(b) for b in stub.batches] == [10, 3]
    sent = [decode_message(e["MessageBody"]) for batch in stub.batches for e in batch]
    assert sent == ITEMS


def test_failed_entries_are_sent_once_more_alone() -> None:
    stub = StubSqs({"2", "7"})
    assert queue(stub).send(ITEMS) == {"due": 13}
    assert [[e["Id"] for e in b] for b in stub.batches][1] == ["2", "7"]
    retried = [decode_message(e["MessageBody"]) for e in stub.batches[1]]
    assert retried == [ITEMS[2], ITEMS[7]]
    assert len(stub.batches) == 3  # then the last three


def test_entries_still_failed_are_a_503_not_a_silent_loss(caplog: pytest.LogCaptureFixture) -> None:
    stub = StubSqs({"4"}, {"4"})
    with pytest.raises(DependencyUnavailable):
        queue(stub).send(ITEMS)
    assert len(stub.batches) == 2  # the second batch of ten is never sent: the job stops here
    assert "sqs.batch_failed" in caplog.text


def test_the_message_format_round_trips_and_anything_else_is_refused() -> None:
    body = encode_message("a" * 32, "in_x")
    assert json.loads(body) == {"account_id": "a" * 32, "charge_id": "in_x"}
    assert decode_message(body) == ("a" * 32, "in_x")
    for poison in ("[]", '{"account_id": "a"}', '{"account_id": 1, "charge_id": "c"}', "{"):
        with pytest.raises(ValueError):
            decode_message(poison)


def test_the_consumer_reports_poison_messages_as_failed(memory_box: Container) -> None:
    bodies = [("m1", "not json"), ("m2", encode_message("a" * 32, "in_missing")), ("m3", "[]")]
    assert consume_retry_messages(bodies, memory_box) == ["m1", "m3"]  # m2: skipped, done
