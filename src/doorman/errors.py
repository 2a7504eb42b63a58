"""One exception hierarchy for every way a request can end early.

Each error knows its HTTP status and a stable machine-readable ``code`` so the server can render
it in the shape the client's SDK expects (OpenAI or Anthropic) and the official SDKs raise their
own exception classes (401 -> AuthenticationError, 429 -> RateLimitError, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import orjson

WireFormat = Literal["openai", "anthropic"]

# OpenAI's "type" field and Anthropic's error "type" per status.
_OPENAI_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    410: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout_error",
}
_ANTHROPIC_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    410: "not_found_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


class DoormanError(Exception):
    """Base class: a request ended with a status, a code and a human-readable message."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})
        if status is not None:
            self.status_code = status
        else:
            self.status_code = self.status

    def body(self, wire: WireFormat = "openai") -> dict[str, Any]:
        """The error JSON in the provider's own shape."""
        if wire == "anthropic":
            etype = _ANTHROPIC_TYPES.get(self.status_code, "api_error")
            return {
                "type": "error",
                "error": {"type": etype, "message": self.message, "code": self.code},
            }
        etype = _OPENAI_TYPES.get(self.status_code, "api_error")
        return {
            "error": {
                "message": self.message,
                "type": etype,
                "param": self.param,
                "code": self.code,
            }
        }

    def render(self, wire: WireFormat = "openai") -> bytes:
        return orjson.dumps(self.body(wire))


class BadRequest(DoormanError):
    status = 400
    default_code = "invalid_request"


class PayloadTooLarge(DoormanError):
    status = 413
    default_code = "request_too_large"


class UnsupportedMediaType(DoormanError):
    status = 415
    default_code = "unsupported_media_type"


class ModelNotFound(DoormanError):
    status = 404
    default_code = "model_not_found"


class NotFound(DoormanError):
    status = 404
    default_code = "not_found"


class AuthenticationFailed(DoormanError):
    status = 401
    default_code = "invalid_api_key"


class PermissionDenied(DoormanError):
    status = 403
    default_code = "permission_denied"


class Conflict(DoormanError):
    """409: the target is in a state that refuses this action (e.g. already used)."""

    status = 409
    default_code = "conflict"


class Gone(DoormanError):
    """410: the target existed but is no longer usable (e.g. expired)."""

    status = 410
    default_code = "gone"


class Unprocessable(DoormanError):
    status = 422
    default_code = "invalid_value"


class RateLimited(DoormanError):
    """429: a limit, quota or budget refused the request. Carries retry-after when known."""

    status = 429
    default_code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        merged = dict(headers or {})
        self.retry_after = retry_after
        if retry_after is not None:
            merged.setdefault("retry-after", str(max(1, int(-(-retry_after // 1)))))
        super().__init__(message, code=code, headers=merged, param=param)


class ServiceUnavailable(DoormanError):
    status = 503
    default_code = "service_unavailable"


class UpstreamError(DoormanError):
    """The provider answered with an error; its status is kept where meaningful."""

    status = 502
    default_code = "upstream_error"


class UpstreamTimeout(DoormanError):
    status = 504
    default_code = "upstream_timeout"


class InternalError(DoormanError):
    status = 500
    default_code = "internal_error"
