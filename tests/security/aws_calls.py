"""Record every AWS call the service's code makes, as the IAM actions it needs.

:func:`install` wraps ``botocore.client.BaseClient._make_api_call`` (boto3 clients and
PynamoDB both go through it).  A call counts when ``chalicelib`` (or ``app.py``) made it,
outside provisioning (``create_table``, ``verify_sender``: operators and ``make run`` do
those, never the functions) and outside ``devstack``; calls the tests make themselves to set
things up or look at them are not the service's.

Each call is mapped to the IAM actions AWS authorizes for it: a ``TransactWriteItems`` needs
``PutItem`` / ``UpdateItem`` / ``DeleteItem`` / ``ConditionCheckItem`` on each item (there is
no IAM action of that name), ``TransactGetItems`` needs ``GetItem``, SQS batch calls need the
single-message action.  Each record keeps the resource the call touched (table and index,
queue, sender identity, secret) so the policy's resources can be checked too.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CODE = (str(ROOT / "chalicelib") + "/", str(ROOT / "app.py"))
EXCLUDED_DIRS = (str(ROOT / "devstack") + "/",)
PROVISIONING = {"create_table", "verify_sender"}

_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Call:
    """One IAM action a call needed, and the resource it needed it on."""

    action: str  # e.g. "dynamodb:PutItem"
    resource: str  # table[/index/name], queue name or URL, identity, secret id
    origin: str  # file:function in chalicelib that made it


def _dynamodb_actions(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if operation == "TransactWriteItems":
        return [
            (f"dynamodb:{_TRANSACT_WRITE[kind]}", body.get("TableName", ""))
            for item in params.get("TransactItems", [])
            for kind, body in item.items()
        ]
    if operation == "TransactGetItems":
        return [
            ("dynamodb:GetItem", item["Get"].get("TableName", ""))
            for item in params.get("TransactItems", [])
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table) for table in params.get("RequestItems", {})]
    table = str(params.get("TableName", ""))
    if params.get("IndexName"):
        table += f"/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", table)]


def iam_actions(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(action, resource)]`` that AWS authorizes for one API call."""
    if service == "dynamodb":
        return _dynamodb_actions(operation, params)
    if service == "sqs":
        resource = str(params.get("QueueUrl") or params.get("QueueName") or "")
        return [(f"sqs:{_SQS_BATCH.get(operation, operation)}", resource.rsplit("/", 1)[-1])]
    if service == "ses":
        return [(f"ses:{operation}", str(params.get("Source", "")))]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", str(params.get("SecretId", "")))]
    return [(f"{service}:{operation}", "")]


def _origin() -> str | None:
    """``file:function`` of the innermost service frame, or None when the call is not ours."""
    frame = sys._getframe(2)
    origin = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(EXCLUDED_DIRS):
            return None
        if filename.startswith(CODE):
            if frame.f_code.co_name in PROVISIONING:
                return None
            if origin is None:
                origin = f"{Path(filename).relative_to(ROOT)}:{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return origin


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        from botocore.client import BaseClient

        original = BaseClient._make_api_call  # type: ignore[attr-defined]
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            origin = _origin()
            if origin is not None:
                service = client.meta.service_model.signing_name
                with recorder._lock:
                    for action, resource in iam_actions(service, operation_name, api_params):
                        recorder.calls.append(Call(action, resource, origin))
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = recording  # type: ignore[attr-defined]
        self._installed = True

    def mark(self) -> int:
        return len(self.calls)

    def since(self, mark: int) -> list[Call]:
        with self._lock:
            return list(self.calls[mark:])

    def actions(self, calls: list[Call] | None = None) -> set[str]:
        return {c.action for c in (self.calls if calls is None else calls)}


RECORDER = Recorder()
