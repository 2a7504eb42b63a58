"""``GET /openapi.json``: an OpenAPI 3.1 description of the gateway's HTTP surface.

Written by hand for the proxy routes (their request bodies are the providers' own formats, kept
open to extra fields as the providers' are) and generated from the admin API's pydantic body
models, so the admin schemas cannot drift from what the routes accept. The fuzz tests
(tests/adversarial/test_hostile_fuzz.py) drive the gateway from this document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

import doorman

JSON = "application/json"
_ERROR_STATUSES = {
    "400": "Invalid request (the message and `param` name what was wrong)",
    "401": "Missing or invalid credential",
    "403": "Not allowed (suspended user, model not allowed for the tier or key)",
    "404": "Unknown model or route",
    "413": "Request body too large",
    "415": "Not application/json",
    "422": "A value out of range",
    "429": "A limit, quota, budget or authentication lock-out (see `retry-after`)",
    "502": "The provider failed",
    "503": "No deployment available, or the gateway is starting",
    "504": "The request deadline passed",
}

OPENAI_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ANTHROPIC_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {"type": "string"},
                "message": {"type": "string"},
                "code": {"type": "string"},
            },
        },
    },
}
_CONTENT_PART: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string"}, "text": {"type": "string"}},
}
_CONTENT: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": _CONTENT_PART}, {"type": "null"}]
}
CHAT_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string", "examples": ["sim-small"]},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
                    "content": _CONTENT,
                    "name": {"type": "string"},
                    "tool_call_id": {"type": "string"},
                },
            },
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "tools": {"type": "array", "items": {"type": "object"}},
        "metadata": {
            "type": "object",
            "properties": {"task": {"type": "string", "maxLength": 64}},
        },
    },
}
MESSAGES_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages", "max_tokens"],
    "properties": {
        "model": {"type": "string", "examples": ["sim-claude"]},
        "max_tokens": {"type": "integer", "minimum": 1},
        "system": {"anyOf": [{"type": "string"}, {"type": "array", "items": _CONTENT_PART}]},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "properties": {"role": {"enum": ["user", "assistant"]}, "content": _CONTENT},
            },
        },
        "stream": {"type": "boolean"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "metadata": {"type": "object"},
    },
}
EMBEDDINGS_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
}
_TASK_HEADER: dict[str, Any] = {
    "name": "x-doorman-task",
    "in": "header",
    "required": False,
    "description": "Task label for reports and routing: 1-64 characters of letters, digits, "
    "spaces and _ . : / - + @ #, starting with a letter or digit.",
    "schema": {"type": "string"},
}


def _errors(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        code: {"description": text, "content": {JSON: {"schema": schema}}}
        for code, text in _ERROR_STATUSES.items()
    }


def _proxy(summary: str, body: dict[str, Any], error: dict[str, Any], tag: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "tags": [tag],
            "security": [{"apiKey": []}, {"bearer": []}],
            "parameters": [_TASK_HEADER],
            "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
            "responses": {
                "200": {
                    "description": "The provider's answer (JSON, or text/event-stream when "
                    "`stream` is true)",
                    "content": {
                        JSON: {"schema": {"type": "object"}},
                        "text/event-stream": {"schema": {"type": "string"}},
                    },
                },
                **_errors(error),
            },
        }
    }


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _admin(method: str, summary: str, *, body: dict[str, Any] | None = None,
           params: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {
        "summary": summary,
        "tags": ["admin"],
        "security": [{"masterKey": []}],
        "parameters": params or [],
        "responses": {
            "200": {"description": "OK", "content": {JSON: {"schema": {"type": "object"}}}},
            **{
                c: e
                for c, e in _errors(OPENAI_ERROR).items()
                if c in ("400", "401", "404", "413", "422", "429")
            },
        },
    }
    if method == "post" and summary.startswith("Create"):
        op["responses"]["201"] = op["responses"]["200"]
    if body is not None:
        op["requestBody"] = {"required": False, "content": {JSON: {"schema": body}}}
    return {method: op}


def _admin_paths() -> dict[str, Any]:
    from doorman.auth.admin import CreateKeyBody, RevokeBody, RotateBody, SuspendBody

    limit = _query("limit", {"type": "integer", "minimum": 1})
    days = _query("days", {"type": "integer", "minimum": 1})
    user = _query("user", {"type": "string"})
    key_id, user_id = _path("key_id"), _path("user_id")
    schema = CreateKeyBody.model_json_schema
    return {
        "/admin/keys": {
            **_admin("post", "Create a key (the secret is shown once)", body=schema()),
            **_admin("get", "List keys", params=[user, limit]),
        },
        "/admin/keys/{key_id}": {
            **_admin("get", "Show a key", params=[key_id]),
            **_admin("delete", "Revoke a key", params=[key_id]),
        },
        "/admin/keys/{key_id}/revoke": _admin(
            "post", "Revoke a key", params=[key_id], body=RevokeBody.model_json_schema()
        ),
        "/admin/keys/{key_id}/rotate": _admin(
            "post",
            "Rotate a key with a grace period",
            params=[key_id],
            body=RotateBody.model_json_schema(),
        ),
        "/admin/users": _admin(
            "get", "List users", params=[limit, _query("suspended", {"type": "boolean"})]
        ),
        "/admin/users/{user_id}": _admin("get", "Show a user", params=[user_id]),
        "/admin/users/{user_id}/suspend": _admin(
            "post", "Suspend a user", params=[user_id], body=SuspendBody.model_json_schema()
        ),
        "/admin/users/{user_id}/unsuspend": _admin(
            "post", "Unsuspend a user", params=[user_id], body={"type": "object"}
        ),
        "/admin/audit": _admin(
            "get",
            "Audit log",
            params=[
                limit,
                _query("action", {"type": "string"}),
                _query("target", {"type": "string"}),
            ],
        ),
        "/admin/usage": _admin(
            "get",
            "Spend report",
            params=[_query("by", {"enum": ["user", "model", "task", "day", "key"]}), days, user],
        ),
        "/admin/alerts": _admin(
            "get", "Recent alerts", params=[_query("kind", {"type": "string"}), limit]
        ),
        "/admin/stats": _admin("get", "Headline numbers", params=[days]),
        "/admin/overview": _admin("get", "Console overview", params=[days]),
        "/admin/screening": _admin("get", "Screening outcomes", params=[days, limit]),
        "/admin/providers": _admin("get", "Providers and breakers"),
        **_approval_admin_paths(limit),
    }


def _approval_admin_paths(limit: dict[str, Any]) -> dict[str, Any]:
    from doorman.approvals.admin import DecisionBody
    from doorman.approvals.store import STATUSES

    approval_id = _path("approval_id")
    decision = DecisionBody.model_json_schema()
    return {
        "/admin/approvals": _admin(
            "get",
            "Tool calls withheld for approval (with their arguments)",
            params=[_query("status", {"enum": list(STATUSES)}), limit],
        ),
        "/admin/approvals/{approval_id}/approve": _admin(
            "post", "Approve a withheld tool call", params=[approval_id], body=decision
        ),
        "/admin/approvals/{approval_id}/deny": _admin(
            "post", "Deny a withheld tool call", params=[approval_id], body=decision
        ),
    }


def _approval_path() -> dict[str, Any]:
    errors = _errors(OPENAI_ERROR)
    conflict = {"description": "The approved call was already handed out",
                "content": {JSON: {"schema": OPENAI_ERROR}}}  # fmt: skip
    gone = {"description": "The approval expired", "content": {JSON: {"schema": OPENAI_ERROR}}}
    return {
        "/v1/approvals/{approval_id}": {
            "get": {
                "summary": "The decision on a withheld tool call (the call itself once approved, "
                "handed out once)",
                "tags": ["proxy"],
                "security": [{"apiKey": []}, {"bearer": []}],
                "parameters": [
                    _path("approval_id"),
                    _query("wait", {"type": "number", "minimum": 0, "maximum": 300}),
                ],
                "responses": {
                    "200": {"description": "OK", "content": {JSON: {"schema": {"type": "object"}}}},
                    **{c: e for c, e in errors.items() if c in ("401", "404", "422", "429")},
                    "409": conflict,
                    "410": gone,
                },
            }
        }
    }


def _ops_paths() -> dict[str, Any]:
    def get(summary: str, security: list[dict[str, list[str]]] | None = None) -> dict[str, Any]:
        op: dict[str, Any] = {"summary": summary, "tags": ["operations"],
                              "responses": {"200": {"description": "OK"}}}  # fmt: skip
        if security is not None:
            op["security"] = security
            op["responses"]["401"] = _errors(OPENAI_ERROR)["401"]
        return {"get": op}

    return {
        "/healthz": get("The process is alive"),
        "/readyz": {
            "get": {
                **get("Database, Redis and providers answer")["get"],
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            }
        },
        "/metrics": get(
            "Prometheus metrics (bearer token when server.metrics_token_env is set)",
            [{}, {"bearer": []}],
        ),
        "/v1/models": get("Models this gateway serves", [{"apiKey": []}, {"bearer": []}]),
        "/openapi.json": get("This document"),
    }


@cache
def openapi_document() -> bytes:
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Doorman",
            "version": getattr(doorman, "__version__", "0"),
            "description": "An LLM API gateway: OpenAI- and Anthropic-compatible proxy routes, "
            "an admin API guarded by the master key, and operations routes. Errors on the "
            "OpenAI routes use OpenAI's error shape, on /v1/messages Anthropic's.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer dm-... (an API key)",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "masterKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <master key>",
                },
            },
            "schemas": {"OpenAIError": OPENAI_ERROR, "AnthropicError": ANTHROPIC_ERROR},
        },
        "paths": {
            "/v1/chat/completions": _proxy(
                "Chat completion (OpenAI format)", CHAT_REQUEST, OPENAI_ERROR, "proxy"
            ),
            "/v1/messages": _proxy(
                "Message (Anthropic format)", MESSAGES_REQUEST, ANTHROPIC_ERROR, "proxy"
            ),
            "/v1/embeddings": _proxy(
                "Embeddings (OpenAI format)", EMBEDDINGS_REQUEST, OPENAI_ERROR, "proxy"
            ),
            **_approval_path(),
            **_admin_paths(),
            **_ops_paths(),
        },
    }
    return orjson.dumps(doc)


async def openapi_json(request: Request) -> Response:
    return Response(openapi_document(), media_type=JSON)
