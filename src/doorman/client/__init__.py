"""Client-side helpers: signing auth for httpx-based SDKs (and, later, ``doorman.Client``)."""

from doorman.client.signing import SigningAuth, sign_request

__all__ = ["SigningAuth", "sign_request"]
