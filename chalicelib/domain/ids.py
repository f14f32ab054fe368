"""Identifiers, tokens and time helpers shared by every layer."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A random 32-hex-digit identifier."""
    return uuid.uuid4().hex


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_session_token(account_id: str) -> tuple[str, str]:
    """A bearer token ``<account id>.<256-bit secret>`` and the hash stored for it."""
    secret = secrets.token_urlsafe(32)
    return f"{account_id}.{secret}", sha256_hex(secret)


def split_session_token(token: str) -> tuple[str, str] | None:
    """``(account id, secret hash)`` of a well-formed token, else None."""
    account_id, dot, secret = token.partition(".")
    if not dot or len(account_id) != 32 or not 20 <= len(secret) <= 100:
        return None
    if not all(c in "0123456789abcdef" for c in account_id):
        return None
    return account_id, sha256_hex(secret)


def shard_of(key: str, shards: int) -> int:
    """A stable shard number for ``key`` in ``[0, shards)``."""
    return int(hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8], 16) % shards


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix (the contract's time format)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{value.microsecond // 1000:03d}Z" if value.microsecond else "Z"
    )


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` accepted) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
