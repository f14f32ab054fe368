"""argon2id parameters and re-hash (AU1); the SES mailer against the embedded server."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from chalicelib.adapters.passwords import Argon2Hasher
from chalicelib.adapters.ses import SesMailer
from chalicelib.config import Settings
from chalicelib.services.ports import MailDeliveryError
from chalicelib.wiring import Container
from tests.conftest import unique_email
from tests.helpers import PASSWORD


def argon2_parameters(stored: str) -> dict[str, int]:
    _, variant, _, params, *_ = stored.split("$")
    assert variant == "argon2id"
    return {k: int(v) for k, v in (p.split("=") for p in params.split(","))}


def test_hashes_are_argon2id_at_or_above_policy() -> None:
    stored = Argon2Hasher().hash(PASSWORD)
    params = argon2_parameters(stored)
    assert params["m"] >= 19456 and params["t"] >= 2 and params["p"] >= 1
    assert Argon2Hasher().verify(stored, PASSWORD)
    assert not Argon2Hasher().verify(stored, PASSWORD + "x")
    assert not Argon2Hasher().verify("not a hash", PASSWORD)


def test_sign_in_upgrades_a_weaker_stored_hash(box: Container) -> None:
    email = unique_email()
    signed = box.auth.signup(
        email=email,
        password=PASSWORD,
        name="A",
        country="FR",
        phone=None,
        locale="en",
        ip="10.0.0.1",
    )
    weak_hash = Argon2Hasher(memory_cost=8192, time_cost=1).hash(PASSWORD)
    from chalicelib.domain.account import AccountChange

    box.repo.commit(
        AccountChange(
            account=signed.account.evolve(password_hash=weak_hash),
            expected_version=signed.account.version,
        )
    )
    assert argon2_parameters(weak_hash)["m"] == 8192
    box.auth.login(email, PASSWORD, "10.0.0.1")
    upgraded = box.repo.get_account(signed.account.id)
    assert upgraded is not None
    assert argon2_parameters(upgraded.password_hash)["m"] >= 19456


def test_ses_mailer_sends_through_the_embedded_server(settings: Settings, stack: Any) -> None:
    to = unique_email("mail")
    message_id = SesMailer(settings).send(to, "Sujet é", "Corps\nligne 2")
    with urllib.request.urlopen(f"{stack.aws_url}/moto-api/data.json") as answer:
        messages = json.load(answer)["ses"]["Message"]
    (sent,) = [m for m in messages if to in m["destinations"]["ToAddresses"]]
    assert sent["subject"] == "Sujet é" and sent["id"] == message_id


def test_ses_mailer_reports_an_unverified_sender_as_permanent(settings: Settings) -> None:
    from msgspec.structs import replace

    mailer = SesMailer(replace(settings, ses_sender="unverified@elsewhere.example.com"))
    with pytest.raises(MailDeliveryError) as error:
        mailer.send(unique_email(), "s", "b")
    assert error.value.permanent


def test_ses_mailer_reports_an_unreachable_server_as_temporary(settings: Settings) -> None:
    from msgspec.structs import replace

    from devstack.stack import free_port

    mailer = SesMailer(replace(settings, aws_endpoint_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(MailDeliveryError) as error:
        mailer.send(unique_email(), "s", "b")
    assert not error.value.permanent
