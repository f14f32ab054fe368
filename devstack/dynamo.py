"""The embedded DynamoDB: moto's, given DynamoDB's atomicity and a bounded memory.

moto's backends are plain Python objects with no locking, and its server runs one thread per
connection, so under ``chalice local``'s threads and the job threads two requests could
interleave inside one ``TransactWriteItems`` (a condition checked, then the item changed by
another request before the write: two accounts for one email, two charges for one invoice),
and dict iterations raced ("dictionary changed size during iteration").  Three changes make it
behave like DynamoDB here:

* :class:`SerializedApp`: one lock (:data:`MOTO_LOCK`) around moto's whole WSGI dispatch,
  response body included, so every request (DynamoDB, SES, SQS, ``/moto-api``) runs alone and
  conditional writes and transactions are atomic.  Anything in this process that reads or
  writes moto's backends directly (:mod:`devstack.persistence`) takes the same lock.
* :func:`patch_moto` replaces the whole-table ``copy.deepcopy`` that moto's
  ``transact_write_items`` makes of every table a transaction touches (its rollback copy) with
  a copy of the touched items only.  Each transaction cost O(table) time and memory: sign-up
  latency grew with the table and each copy's items were kept alive by moto's instance
  tracking (below) - the devstack grew by gigabytes.
* moto answers every Query by listing *every* item of the table, sorted with its
  ``DynamoType`` comparisons (``Table.all_items``: O(N log N) Python comparisons; 2 s per
  query at 3,000 accounts), then filtering.  :func:`patch_moto` sorts on keys computed once
  per item, and gives ``Table.query`` only the candidates: the partition's items for a table
  query, the items whose index key matches for an index query.  moto's own code still does
  the conditions, ordering, paging and projection.
* moto's ``BaseModel.__new__`` keeps a strong reference to every model instance it ever
  creates, only to list them at ``/moto-api/data.json``: every DynamoDB item ever written
  (and every transaction's copies) stayed in memory for good.  :func:`patch_moto` stops that
  tracking for DynamoDB and SQS; SES's sent mail stays listed there (the tests and the README
  read it).

Rolling back a failed transaction restores each touched item as it was before the
transaction; a transaction never touches more than 100 items, so it costs O(items).
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Callable, Iterable
from typing import Any

#: the one lock every access to the embedded moto's state takes (re-entrant: a request that
#: reads ``/moto-api/data.json`` never calls back in, but persistence may nest calls)
MOTO_LOCK = threading.RLock()

#: moto services whose model instances are not tracked for /moto-api/data.json
UNTRACKED_SERVICES = ("dynamodb", "dynamodbstreams", "sqs")

_UNTRACKED_MODULES = [[service] for service in UNTRACKED_SERVICES]

StartResponse = Callable[..., Any]


class SerializedApp:
    """A WSGI app that runs ``app`` one request at a time, the whole body inside the lock."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with MOTO_LOCK:
            result = self._app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


def _serve_serialized(server: Any) -> None:
    """moto's ``ThreadedMotoServer._server_entry``, its dispatcher in :class:`SerializedApp`."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    server._server = make_server(
        server._ip_address, server._port, app, True, request_handler=MotoRequestHandler
    )
    server._server_ready_event.set()
    server._server.serve_forever()


class SerializedMotoServer:
    """moto in server mode on ``host:port``, every request serialized (see module docstring)."""

    def __init__(self, host: str, port: int) -> None:
        from moto.server import ThreadedMotoServer

        patch_moto()
        self._moto = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=_serve_serialized, args=(self._moto,), name="moto", daemon=True
        )
        self._thread.start()
        if not self._moto._server_ready_event.wait(15):
            raise RuntimeError("moto did not start")

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the listening socket (the port is free when this returns)."""
        server = self._moto._server
        if server is not None:
            server.shutdown()
            server.server_close()
            self._moto._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


# --- moto patches --------------------------------------------------------------------------
_PATCHED = False


class _TablesByReference:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: ``deepcopy`` of a
    whole table answers the table itself (the rollback is done item by item instead, see
    :func:`_transact_write_items`); every other deep copy is a real one."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """``(table, hash, range, copy of the item or None)`` for each item a transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    touched: list[tuple[Any, ...]] = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before changing anything
        op = next(iter(entry.values()))
        if not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Item") if "Item" in op else op.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        current = _stored(table, hash_value, range_value)
        touched.append((table, hash_value, range_value, copy.deepcopy(current)))
    return touched


def _stored(table: Any, hash_value: Any, range_value: Any) -> Any:
    """The item under a key, without creating an empty hash bucket (``items`` is a defaultdict)."""
    bucket = table.items.get(hash_value)
    if bucket is None:
        return None
    return bucket.get(range_value) if range_value is not None else bucket


def _restore(touched: list[tuple[Any, ...]]) -> None:
    for table, hash_value, range_value, item in reversed(touched):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
            continue
        bucket = table.items.get(hash_value)
        if item is None:
            if bucket is not None:
                bucket.pop(range_value, None)
                if not bucket:
                    del table.items[hash_value]
        else:
            table.items[hash_value][range_value] = item


def _every_item(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for bucket in table.items.values() for item in bucket.values()]
    return list(table.items.values())


def _sorted(table: Any, items: list[Any]) -> list[Any]:
    """``items`` in moto's ``all_items`` order, each key cast once (not per comparison)."""
    if table.range_key_attr:
        return sorted(items, key=lambda i: (i.hash_key.cast_value, i.range_key.cast_value))
    return sorted(items, key=lambda i: i.hash_key.cast_value)


def _same(stored: Any, wanted: Any) -> bool:
    return stored is not None and stored.type == wanted.type and stored.value == wanted.value


def _patch_queries(table_class: type) -> None:
    """``Table.all_items`` sorted cheaply; ``Table.query`` given only its candidates."""
    original_query = table_class.query  # type: ignore[attr-defined]
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        return _sorted(self, _every_item(self))

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        hash_key, index_name = arguments.get("hash_key"), arguments.get("index_name")
        conditions = arguments.get("hash_key_conditions") or []
        if index_name is None and hash_key is not None:
            bucket = self.items.get(hash_key)
            if bucket is None:
                candidates = []
            else:
                candidates = list(bucket.values()) if self.range_key_attr else [bucket]
        elif index_name is not None and conditions:
            (name, wanted), *others = conditions
            kind, value = wanted.type, wanted.value
            candidates = [
                item
                for item in _every_item(self)
                if (stored := item.attrs.get(name)) is not None
                and stored.value == value
                and stored.type == kind
                and all(_same(item.attrs.get(n), v) for n, v in others)
            ]
        else:
            return original_query(self, *args, **kwargs)
        # moto's query reads self.all_items(): shadow it for this call (requests are serialized)
        self.all_items = lambda: _sorted(self, candidates)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            del self.all_items

    table_class.all_items = all_items  # type: ignore[attr-defined]
    table_class.query = query  # type: ignore[attr-defined]


def patch_moto() -> None:
    """Item-level transaction rollback, cheap queries, and no instance tracking for DynamoDB
    and SQS (once)."""
    global _PATCHED
    if _PATCHED:
        return
    import moto.dynamodb.models as dynamodb_models
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.table import Table

    original_new = BaseModel.__new__

    def untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
        if cls.__module__.split(".")[1:2] in _UNTRACKED_MODULES:
            return object.__new__(cls)
        return original_new(cls, *args, **kwargs)

    BaseModel.__new__ = staticmethod(untracked_new)  # type: ignore[method-assign]
    for service in UNTRACKED_SERVICES:
        forget_tracked(service)

    _patch_queries(Table)
    dynamodb_models.copy = _TablesByReference(Table)  # type: ignore[attr-defined,assignment]
    backend_class = dynamodb_models.DynamoDBBackend
    original_transact = backend_class.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched = _touched_items(self, transact_items)
        try:
            original_transact(self, transact_items)
        except BaseException:
            _restore(touched)
            raise

    backend_class.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _patch_streams()
    _PATCHED = True


KEPT_STREAM_RECORDS = 1000
"""Stream records moto keeps per table (it keeps every one for good; AWS keeps 24 h): the
devstack's poller reads them within a fraction of a second."""


def _patch_streams() -> None:
    """Bounded memory for the table's stream: the oldest records beyond
    :data:`KEPT_STREAM_RECORDS` are dropped (sequence numbers unchanged), an iterator is
    forgotten once used (each answer names the next one), a reader behind the kept records
    resumes at the oldest one kept."""
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_add, original_get = StreamShard.add, StreamShard.get

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        extra = len(self.items) - KEPT_STREAM_RECORDS
        if extra > 0:
            del self.items[:extra]
            self.starting_sequence_number += extra

    def get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        return list(original_get(self, max(start, self.starting_sequence_number), quantity))

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        return dict(self.shard_iterators.pop(iterator_arn).get(limit))

    StreamShard.add = add  # type: ignore[method-assign]
    StreamShard.get = get  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


def forget_tracked(service: str) -> None:
    """Drop the references moto keeps to ``service``'s model instances (data.json only)."""
    from moto.core.model_instances import model_data

    for model in model_data.get(service, {}).values():
        tracked = getattr(model, "instances_tracked", None)
        if isinstance(tracked, list):
            tracked.clear()
