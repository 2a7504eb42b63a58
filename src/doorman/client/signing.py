"""Request signing shared by the client (:class:`SigningAuth`) and the gateway's verifier.

Canonical string (UTF-8, ``\\n``-joined)::

    METHOD            upper case, e.g. POST
    PATH              the raw request target path with its query string, e.g. /v1/chat/completions
    TIMESTAMP         integer Unix seconds
    NONCE             8-128 characters [A-Za-z0-9_-], unique per request
    SHA256HEX(body)   of the exact body bytes sent

``X-Doorman-Signature`` = lowercase hex HMAC-SHA256(signing_secret, canonical string). The client
also sends ``X-Doorman-Content-SHA256`` (the body hash it signed) so the gateway can tell a
tampered body apart from a wrong signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

TIMESTAMP_HEADER = "x-doorman-timestamp"
NONCE_HEADER = "x-doorman-nonce"
SIGNATURE_HEADER = "x-doorman-signature"
CONTENT_HASH_HEADER = "x-doorman-content-sha256"


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_string(
    method: str, path: str, timestamp: str, nonce: str, content_sha256: str
) -> str:
    return "\n".join((method.upper(), path, timestamp, nonce, content_sha256))


def compute_signature(signing_secret: str, canonical: str) -> str:
    return hmac.new(
        signing_secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def sign_request(
    signing_secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The signing headers for one request (lower-case names)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    content = body_sha256(body)
    signature = compute_signature(
        signing_secret, canonical_string(method, path, ts, nonce, content)
    )
    return {
        TIMESTAMP_HEADER: ts,
        NONCE_HEADER: nonce,
        CONTENT_HASH_HEADER: content,
        SIGNATURE_HEADER: signature,
    }


class SigningAuth(httpx.Auth):
    """httpx auth that adds the API key and signs the exact body bytes of every request.

    Works with ``httpx.Client`` and ``httpx.AsyncClient``, hence with the official SDKs::

        client = openai.OpenAI(
            base_url="http://localhost:8080/v1",
            api_key=key,
            http_client=httpx.Client(auth=SigningAuth(api_key=key, signing_secret=secret)),
        )

    Every retry passes through the flow again and gets a fresh nonce and timestamp.
    """

    requires_request_body = True

    def __init__(
        self, api_key: str, signing_secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.api_key = api_key
        self.signing_secret = signing_secret
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request)
        yield request

    def __call__(self, request: Any) -> Any:
        """Function-style auth, so ``httpx2.Client(auth=SigningAuth(...))`` works too."""
        self._sign(request)
        return request

    def _sign(self, request: Any) -> None:
        if "authorization" not in request.headers and "x-api-key" not in request.headers:
            request.headers["Authorization"] = f"Bearer {self.api_key}"
        path = request.url.raw_path.decode("ascii")
        headers = sign_request(
            self.signing_secret,
            request.method,
            path,
            request.content,
            timestamp=int(self._clock()),
        )
        for name, value in headers.items():
            request.headers[name] = value
