"""The retry queue on SQS: the producer side of the charge fan-out (``ChargeQueue``).

Messages are ``{"account_id", "charge_id"}``, sent in batches of ten.  The consumer is the
``@app.on_sqs_message`` handler in ``app.py``; it reports partial batch failures, and the
queue's dead-letter queue catches poison messages (see infra/).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from chalicelib.config import Settings


class SqsChargeQueue:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self) -> Any:
        import boto3

        return boto3.client(
            "sqs",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
        )

    @cached_property
    def _url(self) -> str:
        return str(
            self._client.get_queue_url(QueueName=self._settings.retry_queue_name)["QueueUrl"]
        )

    def send(self, items: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(items), 10):
            batch = items[start : start + 10]
            self._client.send_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps({"account_id": a, "charge_id": c})}
                    for i, (a, c) in enumerate(batch)
                ],
            )
