"""Integration tests: the real adapters over the embedded servers, and the app over HTTP
through Chalice's test client (``client``, root conftest).

The fixture and helpers the HTTP suites shared by copy: ``api`` (JSON calls), what the
embedded SES received (``ses_messages``, ``mails_to``) and a sign-in (``login``).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from tests.helpers import PASSWORD, Answer, Api


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


def ses_messages(stack: Any) -> list[dict[str, Any]]:
    """Every mail the embedded SES received, oldest first (moto's ``/moto-api/data.json``)."""
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        data = json.load(answer)
    return list(data["ses"]["Message"])


def mails_to(stack: Any, to: str) -> list[dict[str, Any]]:
    """The mails the embedded SES received for ``to``, oldest first."""
    return [m for m in ses_messages(stack) if to in m["destinations"]["ToAddresses"]]


def login(api: Api, email: str, password: str = PASSWORD, agent: str = "") -> Answer:
    """``POST /login`` (with a ``User-Agent`` when ``agent`` is given)."""
    headers = {"User-Agent": agent} if agent else None
    return api.call("POST", "/login", {"email": email, "password": password}, headers=headers)
