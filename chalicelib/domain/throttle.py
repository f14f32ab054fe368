"""Throttling of password checks (AU4, AU9): the policy, its buckets and trusted devices.

Every password check (sign-in, reactivation, and the signed-in routes that ask for the current
password again) is an *attempt* counted in a *bucket* before any hash work:

1. the service reads the bucket's state (sign-in: in the same BatchGet as the email marker;
   signed-in routes: the session item, already read to authenticate);
2. the policy below says whether an attempt is allowed now (else 429 ``too_many_attempts``
   with ``Retry-After``) and what to reserve;
3. the repository *reserves* it with one conditional write: a compare-and-set on the observed
   count (``failures = n``), or for the address limit a bounded increment (``failures <
   limit``).  Of N parallel attempts that saw the same state, one reservation wins and the
   others answer 429 without hashing: 25 parallel wrong passwords on one account cause at
   most ``free`` hash verifications, whatever the interleaving;
4. only then is the hash verified.  A failure keeps its reservation (it *is* the failure
   count); a success clears the bucket in the commit of the change it makes.

Buckets (:class:`BucketKind`):

* ``account``: keyed by the SHA-256 of the normalised email (unknown emails alike, so the
  answers do not tell which exist), per day window; attempts from devices that never signed
  in to the account.  After ``free`` failures each further attempt waits an exponentially
  growing, capped delay (1 s, 2 s, 4 s ... 15 min): a progressive delay, never a fixed lock.
* ``device``: a *trusted device* (OWASP "device cookies"): a device that signed in to the
  account before holds a device token, stored only as its hash under the account.  Its
  attempts are counted in its own, more lenient bucket and nowhere else, so an attacker's
  failures from elsewhere never slow the owner down on their own device.
* ``session``: the signed-in session's own bucket for ``current_password`` / ``password``
  (password change, email change, cancel), kept on the session item.
* ``address``: credential-stuffing protection, the failures from one source address per hour
  (a success gives its attempt back), with a high limit; trusted devices are not counted.
  On the local stage loopback addresses are exempt: there every client is 127.0.0.1, and one
  test client must not lock every other one out (in AWS the source address is never
  loopback).

A *lockout episode* starts with the failure that uses up a bucket's free attempts; that
failure (exactly one, as reservations are compare-and-set) mails the owner once.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from msgspec import Struct, field

from chalicelib.domain.errors import Throttled

CONTENDED_RETRY_SECONDS = 1  # another attempt on the same bucket took the slot


class BucketKind(enum.StrEnum):
    ACCOUNT = "email"
    ADDRESS = "ip"
    DEVICE = "device"
    SESSION = "session"


class Bucket(Struct, frozen=True):
    """Where attempts are counted.  ``key``: the email hash, the address, or
    ``<account id>/<token hash>`` for a device or a session; ``window``: the time window
    index of windowed buckets (account, address), 0 for the others."""

    kind: BucketKind
    key: str
    window: int = 0

    @property
    def owner(self) -> tuple[str, str]:
        """``(account id, token hash)`` of a device or session bucket."""
        account_id, _, token_hash = self.key.partition("/")
        return account_id, token_hash


class ThrottleState(Struct, frozen=True):
    """A bucket's failed (or in-flight) attempts and when the latest one started."""

    failures: int = 0
    attempted_at: datetime | None = None


class Reservation(Struct, frozen=True):
    """One attempt to take in ``bucket``: a compare-and-set on ``expected`` failures, or
    (``limit`` set) an increment while the count is below ``limit``."""

    bucket: Bucket
    expected: int
    at: datetime
    expires_at: datetime | None = None
    limit: int | None = None

    @property
    def number(self) -> int:
        """This attempt's number in its bucket (exact for compare-and-set reservations)."""
        return self.expected + 1


class Settle(Struct, frozen=True):
    """What a successful check does to a bucket in the commit of its change: ``clear`` it
    (account) or give the attempt back (``refund``, address)."""

    bucket: Bucket
    refund: bool = False
    expires_at: datetime | None = None


class BackoffPolicy(Struct, frozen=True):
    """``free`` attempts, then a delay of ``base * 2**(failures - free)`` seconds (capped)
    after the latest attempt; ``window_seconds`` > 0 restarts the count every window."""

    free: int
    base_seconds: int
    cap_seconds: int
    window_seconds: int = 0

    def delay_seconds(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(self.cap_seconds, self.base_seconds * 2 ** min(failures - self.free, 40)))

    def window(self, now: datetime) -> int:
        return int(now.timestamp()) // self.window_seconds if self.window_seconds else 0

    def allowed_at(self, state: ThrottleState) -> datetime | None:
        """When the next attempt may start (None: now)."""
        delay = self.delay_seconds(state.failures)
        if not delay or state.attempted_at is None:
            return None
        return state.attempted_at + timedelta(seconds=delay)

    def reserve(self, bucket: Bucket, state: ThrottleState | None, now: datetime) -> Reservation:
        """The reservation of an attempt now; ``Throttled`` while the delay runs."""
        state = state or ThrottleState()
        allowed = self.allowed_at(state)
        if allowed is not None and now < allowed:
            raise Throttled(retry_after=_seconds_until(allowed, now))
        expires = None
        if self.window_seconds:
            end = (self.window(now) + 1) * self.window_seconds
            expires = datetime.fromtimestamp(end + 3600, tz=now.tzinfo)
        return Reservation(bucket, state.failures, now, expires)

    def starts_episode(self, reservation: Reservation) -> bool:
        """Whether this attempt failing uses up the free attempts (mail the owner once)."""
        return reservation.limit is None and reservation.number == self.free


class WindowLimit(Struct, frozen=True):
    """At most ``limit`` failures per fixed window (the per-address limit)."""

    limit: int
    window_seconds: int

    def window(self, now: datetime) -> int:
        return int(now.timestamp()) // self.window_seconds

    def reserve(self, bucket: Bucket, state: ThrottleState | None, now: datetime) -> Reservation:
        count = state.failures if state else 0
        end = datetime.fromtimestamp((self.window(now) + 1) * self.window_seconds, tz=now.tzinfo)
        if count >= self.limit:
            raise Throttled(retry_after=_seconds_until(end, now))
        return Reservation(bucket, count, now, end + timedelta(hours=1), limit=self.limit)


class ThrottlePolicy(Struct, frozen=True):
    """The policy of every bucket kind (built from the settings by the auth service)."""

    account: BackoffPolicy
    device: BackoffPolicy
    session: BackoffPolicy
    address: WindowLimit
    device_days: int = 180

    def backoff(self, kind: BucketKind) -> BackoffPolicy | None:
        return {
            BucketKind.ACCOUNT: self.account,
            BucketKind.DEVICE: self.device,
            BucketKind.SESSION: self.session,
        }.get(kind)


class TrustedDevice(Struct, frozen=True):
    """A device that signed in to the account before: its token's hash and its bucket."""

    account_id: str
    token_hash: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    throttle: ThrottleState = field(default_factory=ThrottleState)

    def is_valid(self, account_id: str | None, now: datetime) -> bool:
        return account_id == self.account_id and now < self.expires_at


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(1, int((when - now).total_seconds() + 0.999))
