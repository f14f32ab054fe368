"""Proration of plan and seat changes (domain.plans): examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.plans import (
    ChangeKind,
    LineKind,
    PlanChange,
    Priced,
    check_seats,
    downgrade_credit,
    period_end,
    period_start,
    quote_change,
    round_half_up,
    share,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)  # 31 days
BASIC = Priced("basic-monthly", "month", 1500, True, 1)
PRO = Priced("pro-monthly", "month", 4900, True, 1)
YEARLY = Priced("pro-yearly", "year", 49000, True, 1)


def seats(p: Priced, n: int) -> Priced:
    return Priced(p.plan_id, p.interval, p.unit_amount, p.per_seat, n)


def test_round_half_up_rounds_halves_up_and_the_rest_to_the_nearest() -> None:
    assert round_half_up(5, 2) == 3
    assert round_half_up(3, 2) == 2
    assert round_half_up(4, 3) == 1
    assert round_half_up(5, 3) == 2
    assert round_half_up(0, 7) == 0


def test_a_period_price_is_per_seat_when_the_plan_is() -> None:
    assert seats(PRO, 3).amount == 14700
    flat = Priced("flat", "month", 1000, False, 5)
    assert flat.amount == 1000


def test_half_the_period_left_costs_half_the_difference() -> None:
    middle = START + (END - START) / 2
    quote = quote_change(BASIC, PRO, START, END, middle)
    assert quote.kind is ChangeKind.IMMEDIATE
    assert quote.now_amount == (4900 - 1500) // 2
    remaining, unused = quote.lines
    assert remaining.kind is LineKind.REMAINING and remaining.amount == 2450
    assert unused.kind is LineKind.UNUSED and unused.amount == -750
    assert remaining.amount + unused.amount == quote.now_amount
    assert (quote.period_start, quote.period_end, quote.renewal_at) == (middle, END, END)


def test_the_share_is_to_the_second() -> None:
    one_second_left = END - timedelta(seconds=1)
    total = int((END - START).total_seconds())
    # 3400 * 1 / 2678400 rounds to 0; a day left is 3400 / 31 = 109.68 -> 110
    assert quote_change(BASIC, PRO, START, END, one_second_left).now_amount == 0
    day_left = quote_change(BASIC, PRO, START, END, END - timedelta(days=1))
    assert day_left.now_amount == round_half_up(3400 * 86400, total) == 110


def test_more_seats_is_an_upgrade_fewer_is_scheduled() -> None:
    now = START + timedelta(days=10)
    up = quote_change(seats(PRO, 2), seats(PRO, 5), START, END, now)
    assert up.kind is ChangeKind.IMMEDIATE and up.now_amount > 0
    down = quote_change(seats(PRO, 5), seats(PRO, 2), START, END, now)
    assert down.kind is ChangeKind.SCHEDULED and down.now_amount == 0 and down.lines == ()
    assert down.renewal_at == END and down.renewal.seats == 2


def test_a_cheaper_plan_with_more_seats_can_be_an_upgrade() -> None:
    # Pro x1 (49.00) -> Basic x4 (60.00): costs more, so charged now
    quote = quote_change(PRO, seats(BASIC, 4), START, END, START)
    assert quote.kind is ChangeKind.IMMEDIATE and quote.now_amount == 6000 - 4900


def test_no_change_is_none() -> None:
    assert quote_change(PRO, PRO, START, END, START).kind is ChangeKind.NONE


def test_monthly_to_yearly_starts_a_new_period_with_the_unused_time_deducted() -> None:
    now = START + timedelta(days=10)
    quote = quote_change(PRO, YEARLY, START, END, now)
    assert quote.kind is ChangeKind.IMMEDIATE
    period, unused = quote.lines
    assert period.kind is LineKind.PERIOD and period.amount == 49000
    assert unused.amount == -share(4900, START, END, now, END)
    assert quote.now_amount == 49000 + unused.amount
    assert quote.period_start == now and quote.period_end == period_end(now, "year")


def test_yearly_to_monthly_waits_for_the_renewal() -> None:
    end = period_end(START, "year")
    assert quote_change(YEARLY, PRO, START, end, START).kind is ChangeKind.SCHEDULED


def test_seats_are_one_to_ten_thousand() -> None:
    check_seats(1)
    check_seats(10_000)
    for bad in (0, -1, 10_001):
        with pytest.raises(InvalidInput) as error:
            check_seats(bad)
        assert error.value.fields == {"seats": "invalid_seats"}


def test_a_plan_change_round_trips_through_json() -> None:
    change = PlanChange("pro-monthly", 3, "in_1")
    assert PlanChange.from_json(change.as_json()) == change
    assert PlanChange.from_json(None) is None


def test_the_current_period_is_one_interval_before_the_renewal() -> None:
    assert period_start(END, "month") == START
    assert period_start(period_end(START, "year"), "year") == START


# --- properties -------------------------------------------------------------------------------
amounts = st.integers(min_value=0, max_value=10_000_000)
instants = st.integers(min_value=0, max_value=31 * 86400)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, at=instants, start=moments, interval=st.sampled_from(["month", "year"]))
def test_shares_of_a_period_split_at_any_instant_sum_to_its_price(
    amount: int, at: int, start: datetime, interval: str
) -> None:
    end = period_end(start, interval)
    split = min(start + timedelta(seconds=at * (12 if interval == "year" else 1)), end)
    before = share(amount, start, end, start, split)
    after = share(amount, start, end, split, end)
    assert abs(before + after - amount) <= 1
    assert 0 <= before <= amount and 0 <= after <= amount


@settings(max_examples=300, deadline=None)
@given(
    unit_old=st.integers(1, 100_000),
    unit_new=st.integers(1, 100_000),
    seats_old=st.integers(1, 50),
    seats_new=st.integers(1, 50),
    first=instants,
    later=instants,
)
def test_an_upgrade_then_a_downgrade_never_gives_back_more_than_was_charged(
    unit_old: int, unit_new: int, seats_old: int, seats_new: int, first: int, later: int
) -> None:
    old = Priced("a", "month", unit_old, True, seats_old)
    new = Priced("b", "month", unit_new, True, seats_new)
    t1 = START + timedelta(seconds=min(first, later))
    t2 = START + timedelta(seconds=max(first, later))
    up = quote_change(old, new, START, END, t1)
    if up.kind is not ChangeKind.IMMEDIATE:
        assert new.amount <= old.amount and up.now_amount == 0
        return
    assert up.now_amount >= 0
    assert sum(line.amount for line in up.lines) == up.now_amount
    # what going straight back would credit (never paid out: downgrades wait for the renewal)
    assert downgrade_credit(new, old, START, END, t2) <= up.now_amount
    back = quote_change(new, old, START, END, t2)
    assert back.kind is ChangeKind.SCHEDULED and back.now_amount == 0


@settings(max_examples=200, deadline=None)
@given(
    unit=st.integers(1, 100_000),
    seats_old=st.integers(1, 50),
    extra=st.integers(1, 50),
    at=instants,
)
def test_the_charge_now_is_the_difference_of_the_two_shares_within_one_unit(
    unit: int, seats_old: int, extra: int, at: int
) -> None:
    now = START + timedelta(seconds=at)
    old = Priced("p", "month", unit, True, seats_old)
    new = Priced("p", "month", unit, True, seats_old + extra)
    quote = quote_change(old, new, START, END, now)
    assert quote.kind is ChangeKind.IMMEDIATE
    exact = share(new.amount, START, END, now, END) - share(old.amount, START, END, now, END)
    assert abs(quote.now_amount - exact) <= 1
