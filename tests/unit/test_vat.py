"""VAT IDs (normalisation and offline checks), the rate table, the VAT decision and amounts.

The VAT IDs are real, published numbers (python-stdnum's and VIES's documentation examples)
and variations of them with one character changed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.domain.countries import EU_VAT_COUNTRIES
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.vat import (
    MAX_RAW_LENGTH,
    country_of_prefix,
    normalize_vat_id,
    split_vat_id,
    vat_applicable,
    vat_prefix,
)
from chalicelib.domain.vat_rates import (
    REVERSE_CHARGE_MENTION,
    STANDARD_RATES,
    TABLE_START,
    RateUnknown,
    TaxDecision,
    standard_rate,
    tax_for,
    vat_amount,
)
from chalicelib.i18n.catalog import MESSAGES
from chalicelib.i18n.vat import VAT_MESSAGES

# --- VAT IDs: accepted and normalised ---------------------------------------------------------

VALID = [
    # (as typed, billing country, normalised)
    ("DE136695976", "DE", "DE136695976"),
    ("de 136 695 976", "DE", "DE136695976"),
    ("136695976", "DE", "DE136695976"),  # typed without the prefix
    ("DE\u00a0136\u202f695\u2009976", "DE", "DE136695976"),  # pasted no-break spaces
    ("  DE136695976  ", "de", "DE136695976"),
    ("FR 40 303 265 045", "FR", "FR40303265045"),
    ("fr61.954.506.077", "FR", "FR61954506077"),
    ("IT 00743110157", "IT", "IT00743110157"),
    ("nl004495445b01", "NL", "NL004495445B01"),
    ("NL 0024.55.799.B11", "NL", "NL002455799B11"),
    ("BE 0403.019.261", "BE", "BE0403019261"),
    ("BE428759497", "BE", "BE0428759497"),  # old 9-digit form gets its leading 0
    ("ES-B86412491", "ES", "ESB86412491"),
    ("B86412491", "ES", "ESB86412491"),
    ("EL 094 259 216", "GR", "EL094259216"),  # Greece: ISO GR, VAT prefix EL
    ("GR094259216", "GR", "EL094259216"),
    ("094259216", "GR", "EL094259216"),
    ("ATU 135 856 27", "AT", "ATU13585627"),
    ("PL 856-734-62-15", "PL", "PL8567346215"),
    ("IE 6433435OA", "IE", "IE6433435OA"),
    ("SE 1234567897 01", "SE", "SE123456789701"),
    ("FI 2077 4740", "FI", "FI20774740"),
    ("PT 501 964 843", "PT", "PT501964843"),
    ("DK 13 58 56 28", "DK", "DK13585628"),
]


@pytest.mark.parametrize(("raw", "country", "expected"), VALID)
def test_valid_vat_ids_are_normalised(raw: str, country: str, expected: str) -> None:
    assert normalize_vat_id(raw, country) == expected


# --- VAT IDs: refused, with the field message saying why ----------------------------------------

INVALID = [
    # wrong check digits
    ("DE136695977", "DE", "vat_id_check_digits"),
    ("FR40303265046", "FR", "vat_id_check_digits"),
    ("IT00743110158", "IT", "vat_id_check_digits"),
    ("NL004495446B01", "NL", "vat_id_check_digits"),
    ("BE0403019262", "BE", "vat_id_check_digits"),
    ("EL094259217", "GR", "vat_id_check_digits"),
    ("ATU13585628", "AT", "vat_id_check_digits"),
    ("PL8567346216", "PL", "vat_id_check_digits"),
    ("ESB86412492", "ES", "vat_id_check_digits"),
    ("IE6433435OB", "IE", "vat_id_check_digits"),
    ("SE123456789101", "SE", "vat_id_check_digits"),
    # letters where digits belong (or the reverse)
    ("DE13669597A", "DE", "vat_id_format"),
    ("FR4030326504X", "FR", "vat_id_format"),
    ("PL85673462l5", "PL", "vat_id_format"),
    ("NL004495445X01", "NL", "vat_id_format"),
    ("ATX13585627", "AT", "vat_id_format"),
    ("AT13585627", "AT", "vat_id_format"),  # Austria's U missing
    ("BE04O3019261", "BE", "vat_id_format"),  # letter O for zero
    ("ELA94259216", "GR", "vat_id_format"),
    # wrong length
    ("DE12345678", "DE", "vat_id_length"),
    ("IT0074311015", "IT", "vat_id_length"),
    ("DE", "DE", "vat_id_length"),
    # a prefix that is not the billing country's
    ("DE136695976", "FR", "vat_id_prefix_mismatch"),
    ("FR40303265045", "BE", "vat_id_prefix_mismatch"),
    ("EL094259216", "CY", "vat_id_prefix_mismatch"),
    ("GR094259216", "DE", "vat_id_prefix_mismatch"),
    ("US123456789", "DE", "vat_id_prefix_mismatch"),
    ("GB123456789", "IE", "vat_id_prefix_mismatch"),
    ("XI123456782", "FR", "vat_id_northern_ireland"),
    ("XI123456782", "IE", "vat_id_northern_ireland"),
    # control and other characters
    ("DE136695976\x00", "DE", "vat_id_characters"),
    ("DE\t136695976", "DE", "vat_id_characters"),
    ("DE136695976\n", "DE", "vat_id_characters"),
    ("DE1366\u200b95976", "DE", "vat_id_characters"),  # zero-width space
    ("\u202eDE136695976", "DE", "vat_id_characters"),  # right-to-left override
    ("DE136695976\x1b[0m", "DE", "vat_id_characters"),
    ("DE136695976!", "DE", "vat_id_characters"),
    ("DE<script>", "DE", "vat_id_characters"),
    ("DE１３６６９５９７６", "DE", "vat_id_characters"),  # full-width digits
    ("ΕΛ094259216", "GR", "vat_id_characters"),  # Greek letters
    # nothing / too much
    ("", "DE", "vat_id_required"),
    ("  . - ", "DE", "vat_id_required"),
    ("D" * (MAX_RAW_LENGTH + 1), "DE", "vat_id_too_long"),
    ("DE" + "1" * 1_000_000, "DE", "vat_id_too_long"),
    (" " * 1_000_000, "DE", "vat_id_too_long"),
]


@pytest.mark.parametrize(("raw", "country", "message"), INVALID, ids=lambda v: repr(v)[:24])
def test_invalid_vat_ids_are_refused_with_a_clear_message(
    raw: str, country: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_vat_id(raw, country)
    assert caught.value.code == "invalid_vat_id"
    assert caught.value.STATUS_CODE == 400
    assert caught.value.fields == {"vat_id": message}
    assert VAT_MESSAGES[message]["en"] and VAT_MESSAGES[message]["fr"]


def test_a_1mb_string_is_refused_before_stdnum_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from stdnum.eu import vat as eu_vat

    def must_not_run(number: str) -> str:
        raise AssertionError("stdnum was called")

    monkeypatch.setattr(eu_vat, "validate", must_not_run)
    with pytest.raises(InvalidInput) as caught:
        normalize_vat_id("DE 136 695 976 " * 70_000, "DE")
    assert caught.value.fields == {"vat_id": "vat_id_too_long"}


@pytest.mark.parametrize("country", ["US", "GB", "CH", "NO", "XI", "EL", "", "us"])
def test_vat_ids_do_not_apply_outside_the_27(country: str) -> None:
    for raw in ("DE136695976", "XI123456782", "GB123456789", "garbage\x00"):
        with pytest.raises(InvalidInput) as caught:
            normalize_vat_id(raw, country)
        assert caught.value.code == "vat_not_applicable"
        assert caught.value.fields == {}
    assert not vat_applicable(country)


def test_prefixes_and_countries() -> None:
    assert {vat_prefix(c) for c in EU_VAT_COUNTRIES} == (EU_VAT_COUNTRIES - {"GR"}) | {"EL"}
    assert vat_prefix("gr") == "EL"
    assert vat_prefix("FR") == "FR"
    with pytest.raises(InvalidInput):
        vat_prefix("GB")
    assert country_of_prefix("EL") == "GR"
    assert country_of_prefix("de") == "DE"
    for bad in ("GR", "XI", "GB", "US"):
        with pytest.raises(ValueError):
            country_of_prefix(bad)
    assert split_vat_id("EL094259216") == ("EL", "094259216")
    assert all(vat_applicable(c) for c in EU_VAT_COUNTRIES)
    assert len(EU_VAT_COUNTRIES) == 27


def test_vat_messages_are_bilingual_and_merge_cleanly_into_the_catalogue() -> None:
    for key, texts in VAT_MESSAGES.items():
        assert set(texts) == {"en", "fr"}, key
        assert texts["en"].strip() and texts["fr"].strip(), key
        assert texts["en"] != texts["fr"], key
        # the catalogue may already hold a key only if it is the very same text
        assert MESSAGES.get(key, texts) == texts, key
    for key in ("vat_not_applicable", "invalid_vat_id", REVERSE_CHARGE_MENTION):
        assert key in VAT_MESSAGES
    used = {message for _, _, message in INVALID}
    assert used <= set(VAT_MESSAGES)


# --- the rate table ------------------------------------------------------------------------------


def test_the_table_covers_the_27_member_states_in_date_order() -> None:
    countries = {country for country, _, _ in STANDARD_RATES}
    assert countries == EU_VAT_COUNTRIES
    for country in countries:
        dates = [d for c, _, d in STANDARD_RATES if c == country]
        assert dates[0] == TABLE_START, country
        assert dates == sorted(set(dates)), country
    for _, rate, _ in STANDARD_RATES:
        assert isinstance(rate, Decimal)
        assert Decimal(15) <= rate <= Decimal(27)


CURRENT = {  # standard rates on 2026-11-26
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25",
    "EE": "24", "ES": "21", "FI": "25.5", "FR": "20", "GR": "24", "HR": "25", "HU": "27",
    "IE": "23", "IT": "22", "LT": "21", "LU": "17", "LV": "21", "MT": "18", "NL": "21",
    "PL": "23", "PT": "23", "RO": "21", "SE": "25", "SI": "22", "SK": "23",
}  # fmt: skip


@pytest.mark.parametrize(("country", "rate"), sorted(CURRENT.items()))
def test_rates_current_on_2026_11_26(country: str, rate: str) -> None:
    assert standard_rate(country, date(2026, 11, 26)) == Decimal(rate)


@pytest.mark.parametrize(
    ("country", "before", "rate_before", "switch", "rate_after"),
    [
        ("EE", date(2023, 12, 31), "20", date(2024, 1, 1), "22"),
        ("EE", date(2025, 6, 30), "22", date(2025, 7, 1), "24"),
        ("FI", date(2024, 8, 31), "24", date(2024, 9, 1), "25.5"),
        ("SK", date(2024, 12, 31), "20", date(2025, 1, 1), "23"),
        ("RO", date(2025, 7, 31), "19", date(2025, 8, 1), "21"),
        ("LU", date(2023, 12, 31), "16", date(2024, 1, 1), "17"),
        ("DE", date(2020, 12, 31), "16", date(2021, 1, 1), "19"),
    ],
)
def test_rates_switch_on_their_effective_date(
    country: str, before: date, rate_before: str, switch: date, rate_after: str
) -> None:
    assert standard_rate(country, before) == Decimal(rate_before)
    assert standard_rate(country, switch) == Decimal(rate_after)


def test_unknown_rates_raise() -> None:
    with pytest.raises(RateUnknown):
        standard_rate("US", date(2026, 11, 26))
    with pytest.raises(RateUnknown):
        standard_rate("EL", date(2026, 11, 26))  # the ISO code is GR
    with pytest.raises(RateUnknown):
        standard_rate("FR", date(2019, 12, 31))


# --- the decision, and invoices checked to the cent ----------------------------------------------

ON = date(2026, 11, 26)
PRO_MONTHLY = 4900  # EUR 49.00


def invoice(net_lines: list[int], decision: TaxDecision) -> tuple[int, int, int]:
    subtotal = sum(net_lines)
    tax = decision.tax_on(subtotal)
    return subtotal, tax, subtotal + tax


def test_french_consumer_pays_french_vat() -> None:
    decision = tax_for(seller_country="FR", customer_country="FR", customer_vat_status=None, on=ON)
    assert (decision.rate, decision.reverse_charge, decision.mention) == (Decimal(20), False, None)
    assert decision.scheme == "domestic" and decision.country == "FR"
    assert invoice([PRO_MONTHLY], decision) == (4900, 980, 5880)


def test_german_business_with_a_valid_id_is_reverse_charged() -> None:
    decision = tax_for(
        seller_country="FR", customer_country="DE", customer_vat_status="valid", on=ON
    )
    assert decision.rate == 0 and decision.reverse_charge
    assert decision.mention == REVERSE_CHARGE_MENTION
    assert invoice([PRO_MONTHLY], decision) == (4900, 0, 4900)
    assert VAT_MESSAGES[decision.mention]["en"] == (
        "Reverse charge — VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"
    )
    assert "Autoliquidation" in VAT_MESSAGES[decision.mention]["fr"]
    assert "2006/112/CE" in VAT_MESSAGES[decision.mention]["fr"]


@pytest.mark.parametrize("status", ["pending", "invalid", None, "VALID", ""])
def test_german_business_without_a_verified_id_pays_german_vat(status: str | None) -> None:
    decision = tax_for(
        seller_country="FR", customer_country="DE", customer_vat_status=status, on=ON
    )
    assert decision.rate == Decimal(19) and not decision.reverse_charge
    assert decision.mention is None and decision.country == "DE"
    assert invoice([PRO_MONTHLY], decision) == (4900, 931, 5831)


@pytest.mark.parametrize("status", ["valid", "pending", None])
def test_us_customer_pays_no_vat(status: str | None) -> None:
    decision = tax_for(
        seller_country="FR", customer_country="US", customer_vat_status=status, on=ON
    )
    assert (decision.rate, decision.reverse_charge, decision.mention) == (Decimal(0), False, None)
    assert decision.scheme == "outside_scope" and decision.country is None
    assert invoice([PRO_MONTHLY], decision) == (4900, 0, 4900)


def test_same_country_business_is_charged_not_reverse_charged() -> None:
    decision = tax_for(
        seller_country="FR", customer_country="FR", customer_vat_status="valid", on=ON
    )
    assert decision.rate == Decimal(20) and not decision.reverse_charge
    assert invoice([1500, 4900], decision) == (6400, 1280, 7680)


def test_consumers_pay_their_own_countrys_rate() -> None:
    greek = tax_for(seller_country="FR", customer_country="gr", customer_vat_status=None, on=ON)
    assert invoice([PRO_MONTHLY], greek) == (4900, 1176, 6076)
    finnish = tax_for(seller_country="FR", customer_country="FI", customer_vat_status=None, on=ON)
    assert invoice([49000], finnish) == (49000, 12495, 61495)  # 25.5 %


def test_estonian_invoice_before_and_after_2025_07_01() -> None:
    before = tax_for(
        seller_country="FR", customer_country="EE", customer_vat_status=None, on=date(2025, 6, 30)
    )
    after = tax_for(
        seller_country="FR", customer_country="EE", customer_vat_status=None, on=date(2025, 7, 1)
    )
    assert invoice([1500], before) == (1500, 330, 1830)
    assert invoice([1500], after) == (1500, 360, 1860)


@pytest.mark.parametrize(
    ("net", "rate", "expected"),
    [
        (4900, "20", 980),
        (50, "21", 11),  # 10.5 rounds half-up (half-even would give 10)
        (250, "21", 53),  # 52.5
        (1, "25.5", 0),  # 0.255
        (2, "25.5", 1),  # 0.51
        (1999, "20", 400),  # 399.8
        (333, "5.5", 18),  # 18.315
        (0, "20", 0),
        (-50, "21", -11),  # credit notes round symmetrically
        (10**15 + 1, "20", 2 * 10**14),  # far beyond a float's exact range
        (4900, "0", 0),
    ],
)
def test_vat_amount_rounds_half_up_to_the_cent(net: int, rate: str, expected: int) -> None:
    assert vat_amount(net, Decimal(rate)) == expected


def test_vat_amount_refuses_floats_and_nonsense() -> None:
    with pytest.raises(TypeError):
        vat_amount(4900, 20.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vat_amount(49.0, Decimal(20))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vat_amount(True, Decimal(20))
    with pytest.raises(ValueError):
        vat_amount(4900, Decimal(-1))
    with pytest.raises(ValueError):
        vat_amount(4900, Decimal("NaN"))
    assert vat_amount(4900, 20) == 980
