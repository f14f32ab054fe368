"""What ``make run`` keeps between runs: the DynamoDB tables, the sent mail and Stripe's store.

The embedded servers keep everything in memory; :class:`DataFolder` saves their state under
the data folder (``DEVSTACK_DATA_DIR``, default ``.devstack/`` in the project, git-ignored)
and restores it at start:

* ``dynamodb.json``: every item of every table, as DynamoDB JSON, read from moto's backend
  under :data:`devstack.dynamo.MOTO_LOCK` (so a snapshot never sees half a transaction); the
  tables themselves are created by provisioning, from the code's definition, before restore.
  Binary values (``B``, ``BS``: the stored PDFs), bytes in moto, are written base64-encoded
  as DynamoDB's own JSON has them and decoded on restore;
* ``ses.json``: the mail SES "sent" (listed again at ``/moto-api/data.json``);
* ``stripe.pickle``: localstripe's store (customers, cards, payment intents...), pickled on
  localstripe's own event loop (the only thread that touches it) the way localstripe itself
  pickles it; only this folder's own file is ever unpickled.  Webhook events older than the
  newest :data:`KEPT_STRIPE_EVENTS` are dropped from the store as it is saved (localstripe
  keeps every event for good; nothing here lists them).

Each file is written to a temporary name and renamed, so a crash while saving leaves the
previous save whole.  The devstack saves on a timer and on stop (``devstack/__main__.py``); a
``kill -9`` loses what changed since the last timer save.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.dynamo import MOTO_LOCK

ROOT = Path(__file__).resolve().parent.parent
KEPT_STRIPE_EVENTS = 200
FILES = ("dynamodb.json", "ses.json", "stripe.pickle")


def default_data_dir() -> Path:
    """``DEVSTACK_DATA_DIR``, else ``.devstack/`` in the project."""
    configured = os.environ.get("DEVSTACK_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else ROOT / ".devstack"


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _created_backends(backends: Any) -> list[tuple[str, str, Any]]:
    """``(account, region, backend)`` for the backends that exist (none is created)."""
    return [
        (account, region, backend)
        for account, per_account in dict.items(backends)
        for region, backend in dict.items(per_account)
    ]


# --- DynamoDB ------------------------------------------------------------------------------
def dynamodb_snapshot() -> dict[str, Any]:
    from moto.dynamodb.models import dynamodb_backends

    snapshot: dict[str, Any] = {}
    with MOTO_LOCK:
        for account, region, backend in _created_backends(dynamodb_backends):
            tables = {
                name: [_portable(item.to_json()["Attributes"]) for item in table.all_items()]
                for name, table in backend.tables.items()
            }
            snapshot.setdefault(account, {})[region] = tables
    return snapshot


def _portable(attributes: dict[str, Any]) -> dict[str, Any]:
    """Moto's attribute values with every binary value base64 text (JSON has no bytes)."""
    return {name: _convert(value, to_text=True) for name, value in attributes.items()}


def _native(attributes: dict[str, Any]) -> dict[str, Any]:
    """:func:`_portable`'s inverse: binary values back to bytes, as moto keeps them."""
    return {name: _convert(value, to_text=False) for name, value in attributes.items()}


def _convert(value: dict[str, Any], *, to_text: bool) -> dict[str, Any]:
    def one(raw: Any) -> Any:
        if to_text:
            return base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw
        return base64.b64decode(raw) if isinstance(raw, str) else raw

    (kind, raw), *_ = value.items()
    if kind == "B":
        return {"B": one(raw)}
    if kind == "BS":
        return {"BS": [one(member) for member in raw]}
    if kind == "M":
        return {"M": {k: _convert(v, to_text=to_text) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_convert(v, to_text=to_text) for v in raw]}
    return value


def dynamodb_restore(snapshot: dict[str, Any]) -> int:
    """Put the saved items back into tables that exist; the number of items restored."""
    from moto.dynamodb.models import dynamodb_backends

    restored = 0
    with MOTO_LOCK:
        for account, regions in snapshot.items():
            for region, tables in regions.items():
                backend = dynamodb_backends[account][region]
                for name, items in tables.items():
                    table = backend.tables.get(name)
                    if table is None:  # a table the code no longer defines
                        continue
                    for attributes in items:
                        table.put_item(_native(attributes))
                        restored += 1
    return restored


# --- SES -----------------------------------------------------------------------------------
def ses_snapshot() -> dict[str, Any]:
    from moto.ses.models import Message, ses_backends

    snapshot: dict[str, Any] = {}
    with MOTO_LOCK:
        for account, region, backend in _created_backends(ses_backends):
            snapshot.setdefault(account, {})[region] = [
                {
                    "id": m.id,
                    "source": m.source,
                    "subject": m.subject,
                    "body": m.body,
                    "destinations": m.destinations,
                }
                for m in backend.sent_messages
                if isinstance(m, Message)
            ]
    return snapshot


def ses_restore(snapshot: dict[str, Any]) -> int:
    from moto.ses.models import Message, ses_backends

    restored = 0
    with MOTO_LOCK:
        for account, regions in snapshot.items():
            for region, messages in regions.items():
                backend = ses_backends[account][region]
                for m in messages:
                    backend.sent_messages.append(
                        Message(m["id"], m["source"], m["subject"], m["body"], m["destinations"])
                    )
                    backend.sent_message_count += sum(map(len, m["destinations"].values()))
                    restored += 1
    return restored


# --- localstripe ---------------------------------------------------------------------------
def stripe_snapshot() -> bytes:
    """localstripe's store, pickled (call on localstripe's event loop), old events dropped."""
    from localstripe.resources import store

    events = sorted(
        (key for key in store if key.startswith("event:")),
        key=lambda key: getattr(store[key], "created", 0),
    )
    for key in events[:-KEPT_STRIPE_EVENTS]:
        dict.__delitem__(store, key)
    return pickle.dumps(dict(store), protocol=pickle.HIGHEST_PROTOCOL)


def stripe_restore(data: bytes) -> int:
    """Put a saved store back (call on localstripe's event loop); the number of objects."""
    from localstripe.resources import store

    saved = pickle.loads(data)  # noqa: S301 - this folder's own file, written by stripe_snapshot
    dict.update(store, saved)
    return len(saved)


class DataFolder:
    """The saved state of the embedded servers in one folder."""

    def __init__(self, folder: Path, on_stripe_loop: Callable[[Callable[[], Any]], Any]) -> None:
        """``on_stripe_loop(fn)`` runs ``fn`` on localstripe's event loop and answers its result."""
        self.folder = folder
        self._on_stripe_loop = on_stripe_loop
        self._saving = threading.Lock()  # the timer's save and the stop's save never overlap

    def clear(self) -> None:
        for name in FILES:
            (self.folder / name).unlink(missing_ok=True)

    def restore(self) -> dict[str, int]:
        """Load what was saved (nothing when the folder is empty); counts restored."""
        counts = {"items": 0, "mail": 0, "stripe_objects": 0}
        dynamo, ses, stripe = (self.folder / name for name in FILES)
        if dynamo.exists():
            counts["items"] = dynamodb_restore(json.loads(dynamo.read_bytes()))
        if ses.exists():
            counts["mail"] = ses_restore(json.loads(ses.read_bytes()))
        if stripe.exists():
            data = stripe.read_bytes()
            counts["stripe_objects"] = self._on_stripe_loop(lambda: stripe_restore(data))
        return counts

    def save(self) -> None:
        with self._saving:
            self.folder.mkdir(parents=True, exist_ok=True)
            dynamo, ses, stripe = (self.folder / name for name in FILES)
            _write_atomically(dynamo, json.dumps(dynamodb_snapshot()).encode())
            _write_atomically(ses, json.dumps(ses_snapshot()).encode())
            _write_atomically(stripe, self._on_stripe_loop(stripe_snapshot))
