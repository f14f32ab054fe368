"""``make run``'s stand-in for Lambda's DynamoDB event sources: new mail leaves within a second,
new invoices' PDFs are drawn as they are issued.

In AWS, Lambda polls the table's stream (about four times a second per shard), keeps the
records an event source mapping's filter passes (``chalicelib.jobs.run.NEW_MAIL_FILTER``:
new pending outbox items; ``DOCUMENT_FILTER``: invoices and credit notes written) and calls
the function ``app.py`` registers (``app.outbox_stream``, ``app.documents_stream``) with them
as one event; the devstack runs one :class:`StreamPoller` per function, doing the same
against the embedded moto's stream (moto writes a stream record for each put, update and
delete, transactions included): ``GetShardIterator`` at ``LATEST`` when it starts, then
``GetRecords`` every :data:`POLL_SECONDS`, the matching records handed to the same handler as
a Lambda event.  A failed batch is handed over again (Lambda retries a batch until it
succeeds); the scheduled sweeper still covers retries and anything committed while the poller
was not running (a PDF not drawn is drawn by its first request).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

POLL_SECONDS = 0.25
RETRY_SECONDS = 1.0


def matches(pattern: Any, value: Any) -> bool:
    """An EventBridge-style filter pattern (what an event source mapping's filter is): each
    key's list names the accepted values; nested objects match nested fields."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            matches(sub, value.get(key)) for key, sub in pattern.items()
        )
    return value in pattern


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to a function (its ARN added, the creation time
    in epoch seconds as Lambda's events have it)."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


class StreamPoller:
    """Polls the table's stream on a daemon thread and calls ``handler(event, context)``."""

    def __init__(
        self,
        settings: Any,
        handler: Callable[[dict[str, Any], Any], Any],
        pattern: dict[str, Any],
        stopping: threading.Event,
        on_error: Callable[[str], None] = print,
    ) -> None:
        self._settings = settings
        self._handler = handler
        self._pattern = pattern
        self._stopping = stopping
        self._on_error = on_error
        self.delivered = 0  # records handed to the handler
        self.ready = threading.Event()  # set once the poller reads from LATEST

    def start(self) -> StreamPoller:
        threading.Thread(target=self._run, name="stream-poller", daemon=True).start()
        return self

    def _clients(self) -> tuple[Any, str]:
        import boto3

        s = self._settings
        options = {"region_name": s.aws_region, "endpoint_url": s.aws_endpoint_url}
        table = boto3.client("dynamodb", **options).describe_table(TableName=s.table_name)
        return boto3.client("dynamodbstreams", **options), table["Table"]["LatestStreamArn"]

    def _run(self) -> None:
        try:
            streams, arn = self._clients()
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
        except Exception as error:  # no stream: the sweeper alone sends (every minute)
            self._on_error(
                f"the table's stream cannot be read ({error!r}): mail leaves with the jobs"
            )
            return
        self.ready.set()
        while not self._stopping.wait(POLL_SECONDS):
            try:
                answer = streams.get_records(ShardIterator=iterator, Limit=100)
            except Exception as error:  # the embedded server is stopping, or busy
                self._on_error(f"reading the table's stream failed: {error!r}")
                self._stopping.wait(RETRY_SECONDS)
                continue
            iterator = answer["NextShardIterator"]
            records = [
                lambda_record(r, arn) for r in answer["Records"] if matches(self._pattern, r)
            ]
            while records and not self._stopping.is_set():
                try:
                    self._handler({"Records": records}, None)
                    self.delivered += len(records)
                    break
                except Exception as error:  # as Lambda: the same batch again, later
                    self._on_error(f"the stream handler failed ({error!r}): retrying the batch")
                    self._stopping.wait(RETRY_SECONDS)
