"""How domain objects are shown in answers (the contract's shapes)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.account import Account
from chalicelib.domain.ids import utc_iso


def account_view(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "phone": account.phone,
        "locale": account.locale,
        "country": account.country,
        "status": account.status.value,
        "plan": account.plan,
        "trial_ends_at": utc_iso(account.trial_ends_at) if account.trial_ends_at else None,
        "created_at": utc_iso(account.created_at),
    }
