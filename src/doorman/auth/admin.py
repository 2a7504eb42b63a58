"""Admin API for keys, users and the audit log (mounted under ``/admin`` by the server).

Every route is guarded by the master key; bodies are validated strictly (unknown fields and
invalid values -> 422 naming them); all changes go through :class:`KeyService`, the same code the
CLI uses, and are audited with the caller's address.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from doorman.auth.master import require_master
from doorman.auth.service import KeyService
from doorman.errors import BadRequest, PayloadTooLarge, Unprocessable

MAX_BODY_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateKeyBody(_Body):
    user: str = Field(min_length=1, max_length=128)
    tier: str | None = Field(default=None, min_length=1, max_length=64)  # None: default_tier
    expires_days: int | None = Field(default=None, ge=1, le=3650)
    signing: bool = False
    models: list[str] | None = Field(default=None, max_length=256)
    labels: dict[str, str] | None = None


class RevokeBody(_Body):
    reason: str | None = Field(default=None, max_length=500)


class RotateBody(_Body):
    grace_hours: float = Field(default=24.0, ge=0, le=720)


class SuspendBody(_Body):
    reason: str | None = Field(default=None, max_length=500)


class EmptyBody(_Body):
    pass


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def _body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"admin request bodies are limited to {MAX_BODY_BYTES} bytes")
    data: Any = {}
    if raw.strip():
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise Unprocessable("the request body must be a JSON object", param="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        first: str | None = None
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "body"
            first = first or loc
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{loc}: {msg}")
        raise Unprocessable("; ".join(problems), param=first) from None


def _int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Unprocessable(f"{name}: must be an integer", param=name) from None
    if not low <= value <= high:
        raise Unprocessable(f"{name}: must be between {low} and {high}", param=name)
    return value


def _service(request: Request) -> KeyService:
    gateway = request.app.state.doorman
    authenticator = getattr(gateway, "authenticator", None)
    if authenticator is not None:
        return KeyService(
            gateway.engine, gateway.settings, pepper=authenticator.pepper,
            clock=authenticator.clock,
        )
    return KeyService(gateway.engine, gateway.settings)


def _invalidate(request: Request, *, key_id: str | None = None, user_id: str | None = None) -> None:
    authenticator = getattr(request.app.state.doorman, "authenticator", None)
    if authenticator is not None:
        authenticator.invalidate(key_id=key_id, user_id=user_id)


async def create_key(request: Request) -> Response:
    actor = await require_master(request)
    body = await _body(request, CreateKeyBody)
    service = _service(request)
    issued = await service.create(
        user=body.user, tier=body.tier or service.settings.default_tier,
        expires_days=body.expires_days, signing=body.signing, models=body.models,
        labels=body.labels, actor=actor,
    )
    return _json(issued.to_dict(service.now()), status=201)


async def list_keys(request: Request) -> Response:
    await require_master(request)
    service = _service(request)
    limit = _int_query(request, "limit", 1000, 1, 10_000)
    keys = await service.list(user=request.query_params.get("user"), limit=limit)
    now = service.now()
    return _json({"object": "list", "data": [k.to_dict(now) for k in keys]})


async def show_key(request: Request) -> Response:
    await require_master(request)
    service = _service(request)
    info = await service.show(request.path_params["key_id"])
    return _json(info.to_dict(service.now()))


async def revoke_key(request: Request) -> Response:
    actor = await require_master(request)
    body = await _body(request, RevokeBody)
    service = _service(request)
    key_id = request.path_params["key_id"]
    info = await service.revoke(key_id, reason=body.reason, actor=actor)
    _invalidate(request, key_id=key_id)
    return _json(info.to_dict(service.now()))


async def rotate_key(request: Request) -> Response:
    actor = await require_master(request)
    body = await _body(request, RotateBody)
    service = _service(request)
    key_id = request.path_params["key_id"]
    issued = await service.rotate(key_id, grace_hours=body.grace_hours, actor=actor)
    _invalidate(request, key_id=key_id)
    return _json(issued.to_dict(service.now()))


async def list_users(request: Request) -> Response:
    """``GET /admin/users?suspended=true|false&limit=1000`` — users by id."""
    await require_master(request)
    limit = _int_query(request, "limit", 1000, 1, 10_000)
    raw = request.query_params.get("suspended")
    if raw not in (None, "", "true", "false"):
        raise Unprocessable("suspended: must be true or false", param="suspended")
    suspended = None if not raw else raw == "true"
    users = await _service(request).list_users(suspended=suspended, limit=limit)
    return _json({"object": "list", "data": [u.to_dict() for u in users]})


async def show_user(request: Request) -> Response:
    await require_master(request)
    user = await _service(request).get_user(request.path_params["user_id"])
    return _json(user.to_dict())


async def suspend_user(request: Request) -> Response:
    actor = await require_master(request)
    body = await _body(request, SuspendBody)
    user_id = request.path_params["user_id"]
    user = await _service(request).suspend_user(user_id, reason=body.reason, actor=actor)
    _invalidate(request, user_id=user_id)
    return _json(user.to_dict())


async def unsuspend_user(request: Request) -> Response:
    actor = await require_master(request)
    await _body(request, EmptyBody)
    user_id = request.path_params["user_id"]
    user = await _service(request).unsuspend_user(user_id, actor=actor)
    _invalidate(request, user_id=user_id)
    return _json(user.to_dict())


async def audit_log(request: Request) -> Response:
    await require_master(request)
    limit = _int_query(request, "limit", 100, 1, 1000)
    entries = await _service(request).audit(
        limit=limit,
        action=request.query_params.get("action"),
        target=request.query_params.get("target"),
    )
    return _json({"object": "list", "data": [e.to_dict() for e in entries]})


routes: list[BaseRoute] = [
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys", list_keys, methods=["GET"]),
    Route("/keys/{key_id}", show_key, methods=["GET"]),
    Route("/keys/{key_id}", revoke_key, methods=["DELETE"]),
    Route("/keys/{key_id}/revoke", revoke_key, methods=["POST"]),
    Route("/keys/{key_id}/rotate", rotate_key, methods=["POST"]),
    Route("/users", list_users, methods=["GET"]),
    Route("/users/{user_id}", show_user, methods=["GET"]),
    Route("/users/{user_id}/suspend", suspend_user, methods=["POST"]),
    Route("/users/{user_id}/unsuspend", unsuspend_user, methods=["POST"]),
    Route("/audit", audit_log, methods=["GET"]),
]
