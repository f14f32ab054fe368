"""The retry queue on SQS: the charge fan-out's ``ChargeQueue`` and its message format.

Messages are ``{"account_id", "charge_id"}`` (:func:`encode_message`, and
:func:`decode_message` for the consumer: the format is this module's alone), sent in batches
of ten.  The consumer is the ``@app.on_sqs_message`` handler in ``app.py``
(``jobs.run.consume_retry_messages``); it reports partial batch failures, and the queue's
dead-letter queue catches poison messages (see infra/).

Errors are translated here: a botocore transport error (timeout, reset, unreachable
endpoint) or a ClientError (throttling such as ``RequestThrottled``, 5xx) once botocore's
retries are spent, and entries SQS still reports ``Failed`` after one more try of just those,
raise ``DependencyUnavailable``.  Nothing is lost by failing: the charges stay due in the
table's ``retry`` queue and the next scheduled run enqueues them again (the consumer is
idempotent, so a message sent twice is harmless).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.logs import log_error


def encode_message(account_id: str, charge_id: str) -> str:
    """The body of the message asking a worker to process one charge."""
    return json.dumps({"account_id": account_id, "charge_id": charge_id})


def decode_message(body: str) -> tuple[str, str]:
    """``(account id, charge id)`` of a message body; ValueError when it is not one of
    :func:`encode_message`'s (a poison message: reported failed, then dead-lettered)."""
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("not a charge message")
    account_id, charge_id = message.get("account_id"), message.get("charge_id")
    if not isinstance(account_id, str) or not isinstance(charge_id, str):
        raise ValueError("not a charge message")
    return account_id, charge_id


class SqsChargeQueue:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "sqs",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3}),
        )

    @cached_property
    def _url(self) -> str:
        return str(
            self._client.get_queue_url(QueueName=self._settings.retry_queue_name)["QueueUrl"]
        )

    def send(self, items: Sequence[tuple[str, str]]) -> dict[str, int]:
        """Queue every item (batches of ten; ``Failed`` entries are sent once more, then
        ``DependencyUnavailable``); ``{"due": n}``."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for start in range(0, len(items), 10):
                entries = [
                    {"Id": str(i), "MessageBody": encode_message(a, c)}
                    for i, (a, c) in enumerate(items[start : start + 10])
                ]
                failed = self._send_batch(entries)
                if failed:
                    failed = self._send_batch([e for e in entries if e["Id"] in failed])
                if failed:
                    log_error("sqs.batch_failed", failed=len(failed), codes=sorted(failed.values()))
                    raise DependencyUnavailable()
        except (BotoCoreError, ClientError) as error:
            code = (
                error.response.get("Error", {}).get("Code")
                if isinstance(error, ClientError)
                else None
            )
            log_error("sqs.error", error=type(error).__name__, code=code)
            raise DependencyUnavailable() from None
        return {"due": len(items)}

    def _send_batch(self, entries: list[dict[str, str]]) -> dict[str, str]:
        """Send one batch; the ids of the entries SQS did not take, with their codes."""
        answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
        return {str(f["Id"]): str(f.get("Code") or "") for f in answer.get("Failed") or []}
