"""Start and stop the embedded servers in-process, bound to loopback.

* moto (DynamoDB, SES, SQS) is served by ``devstack/dynamo.py``'s ``SerializedMotoServer``:
  one request at a time, so its DynamoDB's transactions and conditions are atomic as
  DynamoDB's are, with bounded memory (moto's own ``ThreadedMotoServer`` also needs
  ``ip_address="127.0.0.1"``, it binds 0.0.0.0 otherwise);
* the fake VIES (``devstack/fake_vies.py``) answers VAT checks, VIES being unreachable here;
* localstripe's own command line binds every interface and pickles its store to /tmp, so its
  aiohttp app is served here on 127.0.0.1 with ``store.dump_to_disk`` disabled; its
  PaymentMethod updates are made to merge nested hashes as Stripe's do.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def local_environment(aws_port: int, stripe_port: int, vies_port: int = 8430) -> dict[str, str]:
    """Environment variables that point the app, the CLI and boto3 at the embedded stack."""
    return {
        "STAGE": "local",
        "LOCAL_AWS_PORT": str(aws_port),
        "LOCAL_STRIPE_PORT": str(stripe_port),
        "LOCAL_VIES_PORT": str(vies_port),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "STRIPE_SECRET_KEY": "sk_test_local_placeholder",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_local_placeholder",
    }


def _deep_merge(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = (
            _deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
        )
    return merged


def _merge_payment_method_updates(resources: Any) -> None:
    """Make localstripe merge nested hashes on PaymentMethod updates, as Stripe does.

    localstripe replaces ``card`` and ``billing_details`` wholesale, so editing a card's expiry
    would lose its brand and last four digits on the local stack.
    """
    original = resources.PaymentMethod._update
    if getattr(original, "merges_nested", False):
        return

    def _update(self: Any, **data: Any) -> Any:
        for key in ("card", "billing_details"):
            current, value = getattr(self, key, None), data.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                data[key] = _deep_merge(current, value)
        return original(self, **data)

    _update.merges_nested = True  # type: ignore[attr-defined]
    resources.PaymentMethod._update = _update


@dataclass
class LocalStripe:
    """localstripe's aiohttp app served from a background thread."""

    port: int
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _runner: Any = None

    def start(self) -> None:
        from aiohttp import web
        from localstripe import resources, server

        resources.store.dump_to_disk = lambda: None
        _merge_payment_method_updates(resources)
        from devstack.stripe_js import install

        install()
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            # open keep-alive connections would hold the stop for 60 s (aiohttp's default)
            self._runner = web.AppRunner(server.app, access_log=None, shutdown_timeout=1.0)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, LOOPBACK, self.port)
            self._loop.run_until_complete(site.start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())

        self._thread = threading.Thread(target=serve, name="localstripe", daemon=True)
        self._thread.start()
        if not ready.wait(15):
            raise RuntimeError("localstripe did not start")

    def call(self, function: Callable[[], T], timeout: float = 30) -> T:
        """Run ``function`` on localstripe's event loop (the only thread that touches its
        store) and answer its result."""

        if not self._loop.is_running():
            raise RuntimeError("localstripe is not running")

        async def run() -> T:
            return function()

        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving; the port is closed when this returns."""
        if self._thread is not None:
            if self._loop.is_running():
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None


@dataclass
class EmbeddedStack:
    aws_port: int
    stripe_port: int
    vies_port: int
    moto: Any = None
    stripe: LocalStripe | None = None
    vies: Any = None

    @property
    def environment(self) -> dict[str, str]:
        return local_environment(self.aws_port, self.stripe_port, self.vies_port)

    @property
    def aws_url(self) -> str:
        return f"http://{LOOPBACK}:{self.aws_port}"

    def start(self) -> EmbeddedStack:
        import logging

        from devstack.dynamo import SerializedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self.moto = SerializedMotoServer(LOOPBACK, self.aws_port)
        self.moto.start()
        self.stripe = LocalStripe(self.stripe_port)
        self.stripe.start()
        from devstack.fake_vies import FakeVies

        self.vies = FakeVies(self.vies_port).start()
        return self

    def provision(self) -> None:
        """Create the table and its indexes, and verify the SES sender (idempotent)."""
        from chalicelib.adapters.dynamo.models import create_table
        from chalicelib.adapters.ses import SesMailer
        from chalicelib.config import settings_from_env

        settings = settings_from_env({**os.environ, **self.environment})
        create_table(settings)
        SesMailer(settings).verify_sender()

    def alive(self) -> bool:
        """Whether every embedded server is still serving."""
        return bool(
            self.moto is not None
            and self.moto.alive()
            and self.stripe is not None
            and self.stripe.alive()
            and self.vies is not None
            and self.vies.alive()
        )

    def stop(self) -> None:
        """Stop every server; their ports are free when this returns."""
        if self.vies is not None:
            self.vies.stop()
        if self.stripe is not None:
            self.stripe.stop()
        if self.moto is not None:
            self.moto.stop()


def start_stack(
    aws_port: int | None = None, stripe_port: int | None = None, vies_port: int | None = None
) -> EmbeddedStack:
    """Start moto and localstripe (on free ports unless given) and provision them.

    Dummy AWS credentials are put in this process's environment (if none are set) so that
    boto3 never looks further for real ones.
    """
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_EC2_METADATA_DISABLED",
    ):
        os.environ.setdefault(key, local_environment(0, 0)[key])
    stack = EmbeddedStack(
        aws_port or free_port(), stripe_port or free_port(), vies_port or free_port()
    ).start()
    try:
        stack.provision()
    except Exception:
        stack.stop()
        raise
    return stack
