"""The customer's EU VAT ID: set, remove, verify with VIES, and re-check on a schedule.

* ``PUT /billing/vat``: the ID is normalised and checked offline first (format, check digits,
  prefix against the billing country; ``domain.vat``), then VIES is asked once with its
  explicit timeout.  ``valid`` and ``invalid`` are final until the ID changes; "unavailable"
  keeps the ID ``pending`` and schedules a re-check (the ``vat-recheck`` job) with backoff.
  Valid IDs are re-checked every 3 months.  The consultation date and request identifier are
  kept on the account as evidence.
* Reverse charge applies only while the status is ``valid`` (``domain.vat_rates.tax_for``):
  a pending ID is charged VAT.
* A VAT ID (a business) needs the billing address first (``billing_address_required``): a
  business's invoices, reverse-charged ones above all, must show its address.
* Changing the billing country sets the ID aside when it no longer matches (see
  :func:`vat_still_applies`).

The scheduled re-check is a :class:`WorkItem` in the ``vat`` queue, written in the same
transaction as the account's VAT fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from msgspec import Struct

from chalicelib.domain.account import Account, AccountChange, AuditEvent, Caller, WorkItem
from chalicelib.domain.errors import ConcurrentUpdate, Conflict, InvalidInput
from chalicelib.domain.vat import country_of_prefix, normalize_vat_id, split_vat_id
from chalicelib.logs import log_event
from chalicelib.services.ports import BillingRepository, Clock
from chalicelib.services.vat_ports import VatChecker, VatCheckResult

QUEUE = "vat"
RECHECK_VALID = timedelta(days=90)
MAX_BACKOFF = timedelta(hours=24)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after ``attempts`` consecutive "unavailable" answers: 15 min, 30 min, ... 24 h."""
    delay: timedelta = timedelta(minutes=15) * 2 ** min(10, max(0, attempts - 1))
    return min(MAX_BACKOFF, delay)


def billing_country(account: Account) -> str:
    return account.billing_address.country if account.billing_address else account.country


def vat_still_applies(account: Account, new_country: str) -> bool:
    """Whether the account's VAT ID still belongs with a billing country of ``new_country``."""
    if account.vat_id is None:
        return True
    prefix, _ = split_vat_id(account.vat_id)
    return country_of_prefix(prefix) == new_country.upper()


CLEARED_VAT: dict[str, None] = {
    "vat_id": None,
    "vat_status": None,
    "vat_checked_at": None,
    "vat_request_id": None,
}
"""The account fields that remove a VAT ID (``account.evolve(**CLEARED_VAT)``)."""


class RecheckReport(Struct):
    checked: int = 0
    valid: int = 0
    invalid: int = 0
    unavailable: int = 0
    skipped: int = 0


class VatService:
    def __init__(
        self, repo: BillingRepository, checker: Callable[[], VatChecker], clock: Clock
    ) -> None:
        self._repo = repo
        self._checker_factory = checker
        self._clock = clock

    def _apply(
        self, account: Account, vat_id: str, result: VatCheckResult, attempts: int
    ) -> tuple[Account, WorkItem]:
        """The account after ``result`` and the next scheduled check."""
        now = self._clock.now()
        if result.status == "unavailable":
            same = account.vat_id == vat_id  # a valid ID stays valid while VIES is down
            work = WorkItem(account.id, QUEUE, now + retry_delay(attempts + 1), attempts + 1)
            updated = account.evolve(
                vat_id=vat_id,
                vat_status="valid" if same and account.vat_status == "valid" else "pending",
                vat_checked_at=account.vat_checked_at if same else None,
                vat_request_id=account.vat_request_id if same else None,
            )
        else:
            work = WorkItem(
                account.id, QUEUE, now + RECHECK_VALID if result.status == "valid" else None
            )
            updated = account.evolve(
                vat_id=vat_id,
                vat_status=result.status,
                vat_checked_at=result.checked_at,
                vat_request_id=result.request_identifier,
            )
        return updated, work

    def set_vat_id(self, caller: Caller, raw: str) -> Account:
        account = caller.account
        vat_id = normalize_vat_id(raw, billing_country(account))
        if account.billing_address is None:  # a business's invoices print its address
            raise InvalidInput("billing_address_required", fields={"vat_id": "address_first"})
        if vat_id == account.vat_id and account.vat_status in ("valid", "invalid"):
            return account  # final until the ID changes
        prefix, number = split_vat_id(vat_id)
        result = self._checker_factory().check(prefix, number)
        updated, work = self._apply(account, vat_id, result, 0)
        try:
            self._repo.commit(
                AccountChange(
                    account=updated,
                    expected_version=account.version,
                    work=(work,),
                    audit=(
                        AuditEvent(
                            account.id,
                            self._clock.now(),
                            "vat_id_set",
                            ip=caller.ip,
                            details={"status": str(updated.vat_status)},
                        ),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None
        log_event("vat.set", account_id=account.id, status=updated.vat_status, fault=result.fault)
        return updated

    def remove_vat_id(self, caller: Caller) -> None:
        account = caller.account
        if account.vat_id is None:
            return
        try:
            self._repo.commit(
                AccountChange(
                    account=account.evolve(**CLEARED_VAT),
                    expected_version=account.version,
                    work=(WorkItem(account.id, QUEUE, None),),
                    audit=(
                        AuditEvent(account.id, self._clock.now(), "vat_id_removed", ip=caller.ip),
                    ),
                )
            )
        except ConcurrentUpdate:
            raise Conflict() from None

    def run_rechecks(self, limit: int = 500) -> RecheckReport:
        """The ``vat-recheck`` job: pending IDs with backoff, valid IDs every 3 months."""
        report = RecheckReport()
        now = self._clock.now()
        for work in self._repo.due_work(QUEUE, now, limit):
            account = self._repo.get_account(work.account_id)
            if account is None or account.vat_id is None:
                self._repo.commit(AccountChange(work=(WorkItem(work.account_id, QUEUE, None),)))
                report.skipped += 1
                continue
            prefix, number = split_vat_id(account.vat_id)
            result = self._checker_factory().check(prefix, number)
            updated, next_work = self._apply(account, account.vat_id, result, work.attempts)
            try:
                self._repo.commit(
                    AccountChange(
                        account=updated, expected_version=account.version, work=(next_work,)
                    )
                )
            except ConcurrentUpdate:
                report.skipped += 1  # changed meanwhile: the next run sees the new state
                continue
            report.checked += 1
            setattr(report, result.status, getattr(report, result.status) + 1)
        return report
