"""Two-factor sign-in with TOTP (RFC 6238) and recovery codes (AU8, ASVS 5.0 6.5/6.6).

* a code is accepted for the current 30 s time step or the one before or after (clock
  drift), and only for a step later than the last accepted one (``Account.mfa_last_step``):
  the same code, or an older one, is never accepted twice.  The commit that records the step
  is conditional on the account's version, so two parallel sign-ins with one code cannot
  both win;
* ten recovery codes are made at setup, shown once, and stored as SHA-256 (they are random,
  50 bits each: a fast hash is enough, there is nothing to brute-force offline); each works
  once;
* the secret itself must be kept to check codes: it is stored on the account item (DynamoDB
  encrypts it at rest).

``pyotp`` and ``segno`` are imported on first use (cold start).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

RECOVERY_CODE_COUNT = 10
STEP_SECONDS = 30
ISSUER = "HelpDesk"


def new_secret() -> str:
    import pyotp

    return str(pyotp.random_base32())


def otpauth_uri(secret: str, email: str) -> str:
    import pyotp

    return str(pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def qr_svg_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI (made here: no external service)."""
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


def accepted_step(secret: str, code: str, now: datetime, last_step: int) -> int | None:
    """The time step ``code`` is valid for (now, one before or one after), when later than
    ``last_step``; None otherwise."""
    import pyotp

    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _normalize(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalize(code).encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], tuple[str, ...]]:
    """Ten codes to show once (``xxxxx-xxxxx``, lower-case hex) and their hashes to store."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, tuple(recovery_hash(c) for c in codes)


def spend_recovery_code(stored: tuple[str, ...], code: str) -> tuple[str, ...] | None:
    """The stored hashes without ``code``'s, or None when it is not an unused code."""
    if not 8 <= len(_normalize(code)) <= 12:
        return None
    wanted = recovery_hash(code)
    kept = tuple(h for h in stored if not hmac.compare_digest(h, wanted))
    return kept if len(kept) < len(stored) else None
