"""The VIES adapter over HTTP against the embedded fake (``devstack/fake_vies.py``).

Each answer the fake can give -- valid, invalid, every fault, garbage, a hang -- goes through
the real client on a free loopback port.  The last section feeds :func:`parse_answer` shapes the
fake does not produce (faults inside a 200, malformed JSON, odd dates).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from chalicelib.adapters.vies import MAX_ANSWER_BYTES, ViesClient, parse_answer
from chalicelib.config import Settings
from chalicelib.domain.vat import normalize_vat_id, split_vat_id
from chalicelib.services.vat_ports import UNAVAILABLE_FAULTS, VatChecker
from devstack.fake_vies import (
    FAKE_FAULT_NUMBERS,
    FAKE_GARBAGE_NUMBER,
    FAKE_HANG_NUMBER,
    FAKE_INVALID_NUMBERS,
    FAKE_UNAVAILABLE_NUMBERS,
    FakeVies,
)
from devstack.stack import free_port

HANG_SECONDS = 10.0
VENDOR_VAT = "FR 40 303 265 045"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeVies]:
    server = FakeVies(0, hang_seconds=HANG_SECONDS).start()
    yield server
    server.stop()


def client_for(
    url: str, *, timeout: float = 3.0, vendor_vat: str | None = VENDOR_VAT
) -> ViesClient:
    settings = replace(
        Settings(),
        vies_url=url,
        vies_timeout_seconds=timeout,
        vendor_vat_number=vendor_vat,
        vendor_country="FR",
    )
    return ViesClient(settings)


@pytest.fixture
def vies(fake: FakeVies) -> ViesClient:
    return client_for(fake.url)


def check(checker: VatChecker, vat_id: str) -> object:
    return checker.check(*split_vat_id(vat_id))


def test_the_fake_only_listens_on_loopback(fake: FakeVies) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}"
    assert fake.port > 0


@pytest.mark.parametrize(
    "vat_id",
    [
        *FAKE_INVALID_NUMBERS,
        *FAKE_UNAVAILABLE_NUMBERS,
        *FAKE_FAULT_NUMBERS,
        FAKE_HANG_NUMBER,
        FAKE_GARBAGE_NUMBER,
    ],
)
def test_documented_numbers_pass_the_offline_checks(vat_id: str) -> None:
    # so the app really sends them to VIES
    assert normalize_vat_id(vat_id, vat_id[:2]) == vat_id


def test_valid_number_with_evidence(fake: FakeVies, vies: ViesClient) -> None:
    before = datetime.now(UTC)
    result = vies.check("FR", "61954506077")
    assert result.status == "valid" and result.final and result.fault is None
    assert result.name == "FAKE TRADER FR61954506077"
    assert result.address is not None and "TESTVILLE" in result.address
    assert result.request_identifier and result.request_identifier.startswith("FAKE")
    assert result.checked_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= result.checked_at <= datetime.now(UTC)
    sent = fake.received[-1]
    assert sent == {
        "countryCode": "FR",
        "vatNumber": "61954506077",
        "requesterMemberStateCode": "FR",
        "requesterNumber": "40303265045",
    }


def test_valid_number_whose_state_shares_no_details(vies: ViesClient) -> None:
    result = vies.check("DE", "136695976")
    assert result.status == "valid"
    assert (result.name, result.address) == (None, None)  # VIES's "---"


def test_greece_is_asked_as_el(fake: FakeVies, vies: ViesClient) -> None:
    assert vies.check("GR", "094259216").status == "valid"
    assert fake.received[-1]["countryCode"] == "EL"


def test_without_a_vendor_vat_number_no_requester_is_sent(fake: FakeVies) -> None:
    result = client_for(fake.url, vendor_vat=None).check("NL", "004495445B01")
    assert result.status == "valid"
    assert result.request_identifier is None
    assert "requesterNumber" not in fake.received[-1]


@pytest.mark.parametrize("vat_id", [*FAKE_INVALID_NUMBERS, "DE136695977"])
def test_invalid_numbers(vies: ViesClient, vat_id: str) -> None:
    result = vies.check(*split_vat_id(vat_id))
    assert result.status == "invalid" and result.final
    assert result.fault is None and result.name is None


@pytest.mark.parametrize("vat_id", FAKE_UNAVAILABLE_NUMBERS)
def test_member_state_unavailable(vies: ViesClient, vat_id: str) -> None:
    result = vies.check(*split_vat_id(vat_id))
    assert result.status == "unavailable" and not result.final
    assert result.fault == "MS_UNAVAILABLE"
    assert result.request_identifier is None


@pytest.mark.parametrize(("vat_id", "fault"), sorted(FAKE_FAULT_NUMBERS.items()))
def test_every_vies_fault(vies: ViesClient, vat_id: str, fault: str) -> None:
    result = vies.check(*split_vat_id(vat_id))
    assert result.fault == fault
    if fault == "INVALID_INPUT":
        assert result.status == "invalid"
    else:
        assert fault in UNAVAILABLE_FAULTS
        assert result.status == "unavailable"


def test_garbage_answer_is_unavailable(vies: ViesClient) -> None:
    result = vies.check(*split_vat_id(FAKE_GARBAGE_NUMBER))
    assert (result.status, result.fault) == ("unavailable", "bad_answer")


def test_a_hanging_vies_times_out(fake: FakeVies) -> None:
    quick = client_for(fake.url, timeout=0.5)
    started = time.monotonic()
    result = quick.check(*split_vat_id(FAKE_HANG_NUMBER))
    elapsed = time.monotonic() - started
    assert (result.status, result.fault) == ("unavailable", "timeout")
    assert elapsed < HANG_SECONDS  # it gave up long before the fake would have answered
    # and the client still works afterwards
    assert quick.check("FR", "61954506077").status == "valid"


def test_nobody_listening_is_unavailable() -> None:
    result = client_for(f"http://127.0.0.1:{free_port()}", timeout=0.5).check("FR", "61954506077")
    assert (result.status, result.fault) == ("unavailable", "connection_error")


def test_wrong_path_is_unavailable(fake: FakeVies) -> None:
    result = client_for(fake.url + "/nowhere").check("FR", "61954506077")
    assert result.status == "unavailable"


@pytest.mark.parametrize(
    ("country", "number"),
    [("D1", "136695976"), ("DE", ""), ("DE", "1366\x0095976"), ("DE", "1" * 500), ("", "1")],
)
def test_malformed_input_is_not_sent(
    fake: FakeVies, vies: ViesClient, country: str, number: str
) -> None:
    count = len(fake.received)
    result = vies.check(country, number)
    assert (result.status, result.fault) == ("invalid", "INVALID_INPUT")
    assert len(fake.received) == count


def test_the_fake_stops_and_frees_its_port() -> None:
    server = FakeVies(0, hang_seconds=HANG_SECONDS).start()
    url = server.url
    assert client_for(url).check("FR", "61954506077").status == "valid"
    server.stop()
    assert client_for(url, timeout=0.5).check("FR", "61954506077").status == "unavailable"


# --- answers the fake does not give ------------------------------------------------------------

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "body", "expected_status", "expected_fault"),
    [
        (200, b'{"actionSucceed": false, "errorWrappers": [{"error": "TIMEOUT"}]}',
         "unavailable", "TIMEOUT"),
        (200, b'{"actionSucceed": false, "errorWrappers": [{"error": "INVALID_INPUT"}]}',
         "invalid", "INVALID_INPUT"),
        (500, b'{"actionSucceed": false, "errorWrappers": [{"error": "IP_BLOCKED"}]}',
         "unavailable", "IP_BLOCKED"),
        (500, b'{"actionSucceed": false, "errorWrappers": [{"error": "<b>x</b>"}]}',
         "unavailable", "UNKNOWN_FAULT"),
        (500, b'{"actionSucceed": false}', "unavailable", "UNKNOWN_FAULT"),
        (200, b'{"valid": false, "userError": "MS_MAX_CONCURRENT_REQ"}',
         "unavailable", "MS_MAX_CONCURRENT_REQ"),
        (200, b'{"valid": true, "userError": "VALID"}', "valid", None),
        (200, b'{"valid": "true"}', "unavailable", "bad_answer"),
        (200, b"{}", "unavailable", "bad_answer"),
        (200, b"[true]", "unavailable", "bad_answer"),
        (200, b"null", "unavailable", "bad_answer"),
        (200, b"", "unavailable", "bad_answer"),
        (200, b"\xff\xfe\x00garbage", "unavailable", "bad_answer"),
        (200, b"[" * 200_000, "unavailable", "bad_answer"),
        (200, b'{"valid": true, "pad": "' + b"x" * MAX_ANSWER_BYTES + b'"}',
         "unavailable", "bad_answer"),
        (503, b"<html>Service Unavailable</html>", "unavailable", "bad_answer"),
        (502, b'{"valid": true}', "unavailable", "http_502"),
    ],
)  # fmt: skip
def test_parse_answer(
    status: int, body: bytes, expected_status: str, expected_fault: str | None
) -> None:
    result = parse_answer(status, body, NOW)
    assert (result.status, result.fault) == (expected_status, expected_fault)


def test_parse_answer_keeps_vies_evidence() -> None:
    body = (
        b'{"valid": true, "requestDate": "2026-11-26T08:59:58.123Z", '
        b'"requestIdentifier": "WAPIAAAAZ1234567", "name": " ACME SAS ", "address": "---"}'
    )
    result = parse_answer(200, body, NOW)
    assert result.status == "valid"
    assert result.checked_at == datetime(2026, 11, 26, 8, 59, 58, 123000, tzinfo=UTC)
    assert result.request_identifier == "WAPIAAAAZ1234567"
    assert (result.name, result.address) == ("ACME SAS", None)


@pytest.mark.parametrize(
    "request_date",
    ['"2026-11-26+01:00"', '"1999-01-01T00:00:00Z"', '"yesterday"', "12345", "null"],
)
def test_parse_answer_falls_back_to_the_local_time(request_date: str) -> None:
    body = b'{"valid": false, "requestDate": ' + request_date.encode() + b"}"
    result = parse_answer(200, body, NOW)
    assert result.status == "invalid"
    assert result.checked_at == NOW
