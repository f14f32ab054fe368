"""argon2id password hashing (argon2-cffi), at least the OWASP minimum m=19 MiB, t=2, p=1.

Hashes keep their parameters; ``needs_rehash`` is true for any hash below the current policy,
so sign-in upgrades old hashes.  ``burn`` verifies against a fixed dummy hash so unknown
emails cost the same work as known ones.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

MEMORY_COST_KIB = 19456
TIME_COST = 2
PARALLELISM = 1


class Argon2Hasher:
    def __init__(
        self,
        memory_cost: int = MEMORY_COST_KIB,
        time_cost: int = TIME_COST,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._params = (memory_cost, time_cost, parallelism)

    @cached_property
    def _hasher(self) -> Any:
        from argon2 import PasswordHasher, Type

        memory_cost, time_cost, parallelism = self._params
        return PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )

    @cached_property
    def _dummy_hash(self) -> str:
        return str(self._hasher.hash("dummy password for unknown accounts"))

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        from argon2.exceptions import InvalidHashError

        try:
            return bool(self._hasher.check_needs_rehash(stored_hash))
        except InvalidHashError:
            return True

    def burn(self, password: str) -> None:
        self.verify(self._dummy_hash, password)
