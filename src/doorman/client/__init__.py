"""Client-side helpers: signing auth for httpx-based SDKs; ``doorman.Client`` lives in inprocess."""

from doorman.client.signing import SigningAuth, sign_request

__all__ = ["SigningAuth", "sign_request"]
