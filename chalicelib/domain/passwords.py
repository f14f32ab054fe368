"""Password policy (OWASP ASVS 6.2): 8 to 128 characters, no composition rules, no
truncation, common passwords refused.

The common-password list is zxcvbn's (30,000 most frequent passwords), loaded on first use.
"""

from __future__ import annotations

from functools import lru_cache

from chalicelib.domain.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, field: str = "new_password") -> None:
    """Raise ``weak_password`` unless the password meets the policy."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput("weak_password", fields={field: "password_length"})
    if password.lower() in _common_passwords():
        raise InvalidInput("weak_password", fields={field: "password_common"})
