"""Plan and seat changes: what a change costs now, what it costs at renewal, and when it applies.

A subscription is a plan and a number of agent seats (:class:`Priced`); a period of it costs
the plan's amount, times the seats when the plan is priced per seat.

**When a change applies** (:func:`quote_change`):

* an *upgrade* takes effect at once and the prorated difference is charged now: more seats,
  or a plan whose period costs more, on the same interval (the period keeps its dates); or a
  longer interval (monthly to yearly), which starts a new period now with the unused time of
  the current one deducted;
* a *downgrade* (fewer seats, a cheaper plan, a shorter interval, or a plan of the same price)
  waits for the next renewal: nothing is given back, the renewal is billed at the new price.

**Proration, to the second, in integer minor units.**  For a period ``[start, end)`` of ``T``
seconds and a change at ``now`` with ``R`` whole seconds left (``0 <= R <= T``), the share of an
amount ``A`` for the time left is ``A * R / T`` rounded half up (:func:`share`; exact integer
arithmetic, no floats).  On the same interval the amount charged now is the share of the
*difference* of the two period prices, ``round_half_up((new - old) * R / T)``: so a later
change never gives back more than an earlier one charged (the share only shrinks as time
passes).  The invoice shows it as two lines that sum to it exactly: the time left on the new
subscription (``round_half_up(new * R / T)``) and, as a negative line, the unused time on the
old one (the difference of the two).  On a move to a longer interval the new period is charged
in full, minus the unused time of the old one (``round_half_up(old * R / T)``); when that would
be negative the change waits for the renewal instead.  Shares of one period split at any
instant sum to its price within one minor unit.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from msgspec import Struct

from chalicelib.domain.errors import InvalidInput

INTERVAL_ORDER = {"month": 1, "year": 12}
SECOND = timedelta(seconds=1)
MAX_SEATS = 10_000


class PlanChange(Struct, frozen=True):
    """A change of plan and seats: scheduled for the renewal (``charge_id`` None), or an
    upgrade whose charge is in flight (``charge_id``: applied when that charge is paid)."""

    plan: str
    seats: int
    charge_id: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"plan": self.plan, "seats": self.seats, "charge_id": self.charge_id}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> PlanChange | None:
        if not data:
            return None
        charge_id = data.get("charge_id")
        return cls(
            str(data["plan"]),
            int(str(data["seats"])),
            str(charge_id) if charge_id is not None else None,
        )


class Priced(Struct, frozen=True):
    """A plan with its price and a number of seats (the part of a plan the rules need)."""

    plan_id: str
    interval: str
    unit_amount: int
    per_seat: bool
    seats: int
    currency: str = "EUR"

    @property
    def amount(self) -> int:
        """The net price of one period."""
        return self.unit_amount * (self.seats if self.per_seat else 1)


class LineKind(enum.StrEnum):
    REMAINING = "remaining"  # the time left in the period on the new subscription
    UNUSED = "unused"  # the unused time on the old subscription (a negative line)
    PERIOD = "period"  # a whole new period


class ProrationLine(Struct, frozen=True):
    kind: LineKind
    plan_id: str
    seats: int
    start: datetime
    end: datetime
    amount: int  # signed: UNUSED lines are negative


class ChangeKind(enum.StrEnum):
    NONE = "none"  # nothing changes
    IMMEDIATE = "immediate"  # an upgrade: applied and charged now
    SCHEDULED = "scheduled"  # a downgrade: applied at the renewal


class Quote(Struct, frozen=True):
    """What a change does (see the module docstring)."""

    kind: ChangeKind
    lines: tuple[ProrationLine, ...]
    now_amount: int  # net amount charged now (>= 0)
    period_start: datetime  # the period the charge covers (the invoice's)
    period_end: datetime
    renewal_at: datetime  # the next renewal after the change
    renewal: Priced  # what is billed then


def period_end(start: datetime, interval: str) -> datetime:
    """The end of a period of ``interval`` starting at ``start``."""
    return start + (relativedelta(years=1) if interval == "year" else relativedelta(months=1))


def period_start(end: datetime, interval: str) -> datetime:
    """The start of the current period, from its end (the account's next renewal)."""
    return end - (relativedelta(years=1) if interval == "year" else relativedelta(months=1))


def seconds(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
    return max(0, (end - start) // SECOND)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves up (both >= 0)."""
    assert denominator > 0 and numerator >= 0
    return (2 * numerator + denominator) // (2 * denominator)


def share(amount: int, start: datetime, end: datetime, frm: datetime, to: datetime) -> int:
    """The share of ``amount`` (for the period ``[start, end)``) of the time ``[frm, to)``,
    to the second, rounded half up."""
    total = seconds(start, end)
    if total == 0:
        return 0
    frm, to = max(frm, start), min(to, end)
    return round_half_up(amount * seconds(frm, to), total)


def check_seats(seats: int) -> None:
    """At least one seat, at most :data:`MAX_SEATS`."""
    if not 1 <= seats <= MAX_SEATS:
        raise InvalidInput(fields={"seats": "invalid_seats"})


def quote_change(
    current: Priced, new: Priced, start: datetime, end: datetime, now: datetime
) -> Quote:
    """What changing ``current`` (period ``[start, end)``) to ``new`` at ``now`` does."""
    if current.plan_id == new.plan_id and current.seats == new.seats:
        return Quote(ChangeKind.NONE, (), 0, now, end, end, current)
    now = min(max(now, start), end)
    order_old, order_new = INTERVAL_ORDER[current.interval], INTERVAL_ORDER[new.interval]
    unused = share(current.amount, start, end, now, end)
    if order_new > order_old:  # a longer interval: a new period from now, unused time deducted
        new_end = period_end(now, new.interval)
        net = new.amount - unused
        if net >= 0:
            lines = (
                ProrationLine(LineKind.PERIOD, new.plan_id, new.seats, now, new_end, new.amount),
                ProrationLine(LineKind.UNUSED, current.plan_id, current.seats, now, end, -unused),
            )
            return Quote(ChangeKind.IMMEDIATE, lines, net, now, new_end, new_end, new)
    elif order_new == order_old and new.amount > current.amount:
        total = seconds(start, end)
        left = seconds(now, end)
        net = round_half_up((new.amount - current.amount) * left, total) if total else 0
        remaining = share(new.amount, start, end, now, end)
        lines = (
            ProrationLine(LineKind.REMAINING, new.plan_id, new.seats, now, end, remaining),
            ProrationLine(
                LineKind.UNUSED, current.plan_id, current.seats, now, end, -(remaining - net)
            ),
        )
        return Quote(ChangeKind.IMMEDIATE, lines, net, now, end, end, new)
    return Quote(ChangeKind.SCHEDULED, (), 0, now, end, end, new)


def downgrade_credit(
    current: Priced, new: Priced, start: datetime, end: datetime, now: datetime
) -> int:
    """What an immediate downgrade from ``current`` to ``new`` on the same interval would
    give back (the mirror of an upgrade's charge).  The product never pays it out (downgrades
    wait for the renewal); the property tests check it never exceeds the upgrade's charge."""
    total = seconds(start, end)
    if total == 0 or new.amount >= current.amount:
        return 0
    return round_half_up((current.amount - new.amount) * seconds(max(now, start), end), total)
