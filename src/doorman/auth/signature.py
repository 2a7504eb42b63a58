"""Verify signed requests (see doorman.client.signing for the canonical string).

Checks run cheapest first and each failure has its own code: ``missing_signature``,
``invalid_signature``, ``stale_timestamp`` (outside ±skew), ``body_tampered`` (the signature is
valid for the body hash the client declared in ``X-Doorman-Content-SHA256`` but the body that
arrived hashes differently; without that header a tampered body is an ``invalid_signature``),
and ``replayed_nonce``. The nonce is claimed only after the signature verified, so garbage
requests cannot burn a legitimate client's nonces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from doorman.auth.keys import same
from doorman.auth.nonces import NonceStore
from doorman.client.signing import (
    CONTENT_HASH_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    body_sha256,
    canonical_string,
    compute_signature,
)
from doorman.errors import AuthenticationFailed, ServiceUnavailable

_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
_TS_RE = re.compile(r"^[0-9]{1,12}$")


async def verify_signature(
    *,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    signing_secret: str,
    scope: str,
    now: float,
    skew_s: int,
    nonces: NonceStore,
) -> None:
    ts = headers.get(TIMESTAMP_HEADER)
    nonce = headers.get(NONCE_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not ts or not nonce or not signature:
        missing = [
            n
            for n, v in (
                ("X-Doorman-Timestamp", ts),
                ("X-Doorman-Nonce", nonce),
                ("X-Doorman-Signature", signature),
            )
            if not v
        ]
        raise AuthenticationFailed(
            f"this key signs its requests; missing {', '.join(missing)}",
            code="missing_signature",
        )
    signature = signature.strip().lower()
    if not _TS_RE.fullmatch(ts) or not _NONCE_RE.fullmatch(nonce):
        raise AuthenticationFailed(
            "X-Doorman-Timestamp must be Unix seconds and X-Doorman-Nonce 8-128 characters "
            "of [A-Za-z0-9_-]",
            code="invalid_signature",
        )
    if not _HEX64_RE.fullmatch(signature):
        raise AuthenticationFailed(
            "X-Doorman-Signature must be 64 hex characters", code="invalid_signature"
        )
    if abs(now - int(ts)) > skew_s:
        raise AuthenticationFailed(
            f"X-Doorman-Timestamp is more than {skew_s} s away from the server's clock",
            code="stale_timestamp",
        )
    actual = body_sha256(body)
    expected = compute_signature(
        signing_secret, canonical_string(method, path, ts, nonce, actual)
    )
    if not same(expected, signature):
        declared = (headers.get(CONTENT_HASH_HEADER) or "").strip().lower()
        if _HEX64_RE.fullmatch(declared) and declared != actual:
            claimed = compute_signature(
                signing_secret, canonical_string(method, path, ts, nonce, declared)
            )
            if same(claimed, signature):
                raise AuthenticationFailed(
                    "the request body does not match the body that was signed",
                    code="body_tampered",
                )
        raise AuthenticationFailed(
            "X-Doorman-Signature does not match the request", code="invalid_signature"
        )
    try:
        fresh = await nonces.claim(scope, nonce, 2 * skew_s + 1)
    except Exception as exc:  # fail closed: without a nonce store, replays cannot be refused
        raise ServiceUnavailable(
            "replay protection store unavailable", code="nonce_store_unavailable"
        ) from exc
    if not fresh:
        raise AuthenticationFailed(
            "X-Doorman-Nonce was already used; sign every request with a new nonce",
            code="replayed_nonce",
        )
