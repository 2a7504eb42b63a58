"""Key material: secrets, public ids, keyed hashes and derived signing secrets.

A secret is ``dm-`` + 43 urlsafe characters (256 random bits). The database stores only
HMAC-SHA256(pepper, secret). Signing secrets must be recoverable to verify HMAC signatures, so
they are *derived*: HMAC-SHA256(pepper, "signing:" + salt) with a random per-key salt stored in
the row. A database dump without the pepper yields neither API keys nor signing secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

KEY_PREFIX = "dm-"
KEY_ID_PREFIX = "key_"
_SECRET_RE = re.compile(r"^dm-[A-Za-z0-9_-]{43}$")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_RE = re.compile(r"^key_[a-z0-9]{12}$")


def new_key_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return KEY_ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def new_salt() -> str:
    return secrets.token_hex(16)


def looks_like_key(value: str) -> bool:
    return _SECRET_RE.fullmatch(value) is not None


def looks_like_key_id(value: str) -> bool:
    return _ID_RE.fullmatch(value) is not None


def hash_key(pepper: bytes, secret: str) -> str:
    # hmac.digest: the one-shot C implementation (a third of hmac.new's cost), same value.
    return hmac.digest(pepper, secret.encode("utf-8"), "sha256").hex()


def signing_secret(pepper: bytes, salt: str) -> str:
    """The signing secret handed to the client (``dms-`` + 64 hex chars)."""
    digest = hmac.new(pepper, b"signing:" + salt.encode("ascii"), hashlib.sha256).hexdigest()
    return "dms-" + digest


def same(a: str, b: str) -> bool:
    """Constant-time string equality."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
