"""Key and user life cycle: one implementation behind both the CLI and the admin API.

Every change and its audit entry are written in one transaction: nothing is half-applied.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from doorman.auth import keys as keymat
from doorman.auth.pepper import PEPPER_FILE_NAME, load_pepper
from doorman.config import Settings
from doorman.db.models import ApiKey, AuditEntry, User
from doorman.errors import BadRequest, NotFound, Unprocessable

USER_ID_RE = re.compile(r"^[A-Za-z0-9._@:+-]{1,128}$")
MAX_LABELS = 32
DEFAULT_GRACE_HOURS = 24.0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass(frozen=True)
class KeyInfo:
    """A key as shown to operators: never a secret."""

    id: str
    user: str
    tier: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    allowed_models: list[str] | None
    labels: dict[str, Any]
    signing: bool
    previous_valid_until: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        return {
            "id": self.id,
            "user": self.user,
            "tier": self.tier,
            "status": self.status(now),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
            "allowed_models": self.allowed_models,
            "labels": self.labels,
            "signing": self.signing,
            "previous_secret_valid_until": _iso(self.previous_valid_until),
        }

    @classmethod
    def from_row(cls, row: ApiKey) -> KeyInfo:
        return cls(
            id=row.id,
            user=row.user_id,
            tier=row.tier,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            allowed_models=list(row.allowed_models) if row.allowed_models is not None else None,
            labels=dict(row.labels or {}),
            signing=row.signing_salt is not None,
            previous_valid_until=row.previous_valid_until,
        )


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created or rotated key: the only time the secret exists in plaintext."""

    info: KeyInfo
    key: str
    signing_secret: str | None

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        data = self.info.to_dict(now)
        data["key"] = self.key
        if self.signing_secret is not None:
            data["signing_secret"] = self.signing_secret
        return data


@dataclass(frozen=True)
class UserInfo:
    id: str
    tier: str
    suspended: bool
    suspended_reason: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tier": self.tier,
            "suspended": self.suspended,
            "suspended_reason": self.suspended_reason,
            "created_at": _iso(self.created_at),
        }

    @classmethod
    def from_row(cls, row: User) -> UserInfo:
        return cls(row.id, row.tier, row.suspended, row.suspended_reason, row.created_at)


@dataclass(frozen=True)
class AuditInfo:
    id: int
    at: datetime
    action: str
    actor: str
    target: str | None
    client_address: str | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": _iso(self.at),
            "action": self.action,
            "actor": self.actor,
            "target": self.target,
            "client_address": self.client_address,
            "details": self.details,
        }


@dataclass(frozen=True)
class Actor:
    """Who performed an admin action and from where (for the audit log)."""

    name: str = "cli"
    address: str | None = None


CLI_ACTOR = Actor("cli", "local")


def audit_entry(
    at: datetime, actor: Actor, action: str, target: str | None, details: dict[str, Any]
) -> AuditEntry:
    """One audit-log row; other services add it to their own transaction (all or nothing)."""
    return AuditEntry(
        at=at,
        action=action,
        actor=actor.name[:128],
        target=target,
        client_address=actor.address[:64] if actor.address else None,
        details=details,
    )


class KeyService:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        pepper: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.pepper = pepper if pepper is not None else load_pepper(_pepper_path(settings))
        self.clock = clock
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- validation -------------------------------------------------------------------------

    def check_tier(self, tier: str, param: str = "tier") -> None:
        if tier not in self.settings.tiers:
            known = ", ".join(sorted(self.settings.tiers))
            raise Unprocessable(f"{param}: unknown tier '{tier}' (known: {known})", param=param)

    def check_models(self, models: Sequence[str], param: str = "models") -> list[str]:
        out: list[str] = []
        for i, name in enumerate(models):
            if self.settings.resolve_model(name) is None:
                raise Unprocessable(f"{param}.{i}: unknown model '{name}'", param=f"{param}.{i}")
            if name not in out:
                out.append(name)
        return out

    @staticmethod
    def check_user(user: str, param: str = "user") -> None:
        if not USER_ID_RE.fullmatch(user):
            raise Unprocessable(
                f"{param}: must be 1-128 characters of letters, digits and ._@:+-", param=param
            )

    @staticmethod
    def check_labels(labels: dict[str, Any], param: str = "labels") -> dict[str, str]:
        if len(labels) > MAX_LABELS:
            raise Unprocessable(f"{param}: at most {MAX_LABELS} labels", param=param)
        out: dict[str, str] = {}
        for k, v in labels.items():
            if not isinstance(k, str) or not 1 <= len(k) <= 64:
                raise Unprocessable(f"{param}: label names are 1-64 characters", param=param)
            if not isinstance(v, str) or len(v) > 256:
                raise Unprocessable(
                    f"{param}.{k}: label values are strings of at most 256 characters",
                    param=f"{param}.{k}",
                )
            out[k] = v
        return out

    # -- key life cycle --------------------------------------------------------------------

    async def create(
        self,
        *,
        user: str,
        tier: str,
        expires_days: int | None = None,
        signing: bool = False,
        models: Sequence[str] | None = None,
        labels: dict[str, Any] | None = None,
        actor: Actor = CLI_ACTOR,
    ) -> IssuedKey:
        self.check_user(user)
        self.check_tier(tier)
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise Unprocessable("expires_days: must be between 1 and 3650", param="expires_days")
        allowed = self.check_models(models) if models is not None else None
        clean_labels = self.check_labels(labels or {})
        tier_cfg = self.settings.tiers[tier]
        signing = signing or tier_cfg.require_signature
        days = expires_days if expires_days is not None else tier_cfg.key_expiry_days
        for attempt in range(3):
            now = self.now()
            secret = keymat.new_key_secret()
            salt = keymat.new_salt() if signing else None
            row = ApiKey(
                id=keymat.new_key_id(),
                user_id=user,
                tier=tier,
                secret_hash=keymat.hash_key(self.pepper, secret),
                created_at=now,
                expires_at=now + timedelta(days=days),
                allowed_models=allowed,
                labels=clean_labels,
                signing_salt=salt,
            )
            try:
                async with self._sessions() as session, session.begin():
                    if await session.get(User, user) is None:
                        session.add(User(id=user, tier=tier, suspended=False, created_at=now))
                        await session.flush()
                    session.add(row)
                    self._audit(
                        session, actor, "key.create", row.id,
                        {"user": user, "tier": tier, "expires_at": _iso(row.expires_at),
                         "signing": signing, "allowed_models": allowed},
                    )
            except IntegrityError:
                # A concurrent create made the same new user (or, astronomically rarely, the
                # same key id): the transaction rolled back entirely, so simply try again.
                if attempt == 2:
                    raise
                continue
            return IssuedKey(
                KeyInfo.from_row(row),
                secret,
                keymat.signing_secret(self.pepper, salt) if salt else None,
            )
        raise AssertionError("unreachable")

    async def list(self, *, user: str | None = None, limit: int = 1000) -> list[KeyInfo]:
        query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id).limit(limit)
        if user is not None:
            query = query.where(ApiKey.user_id == user)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [KeyInfo.from_row(r) for r in rows]

    async def show(self, key_id: str) -> KeyInfo:
        async with self._sessions() as session:
            row = await session.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"no key with id '{key_id}'", code="key_not_found")
        return KeyInfo.from_row(row)

    async def revoke(
        self, key_id: str, *, reason: str | None = None, actor: Actor = CLI_ACTOR
    ) -> KeyInfo:
        async with self._sessions() as session, session.begin():
            row = await self._get_key(session, key_id, lock=True)
            if row.revoked_at is None:
                row.revoked_at = self.now()
                row.revoked_reason = reason
                self._audit(session, actor, "key.revoke", key_id, {"reason": reason})
        return KeyInfo.from_row(row)

    async def rotate(
        self,
        key_id: str,
        *,
        grace_hours: float = DEFAULT_GRACE_HOURS,
        actor: Actor = CLI_ACTOR,
    ) -> IssuedKey:
        """A new secret; the old one keeps working until ``now + grace_hours``."""
        if not 0 <= grace_hours <= 24 * 30:
            raise Unprocessable("grace_hours: must be between 0 and 720", param="grace_hours")
        now = self.now()
        secret = keymat.new_key_secret()
        async with self._sessions() as session, session.begin():
            row = await self._get_key(session, key_id, lock=True)
            if row.revoked_at is not None:
                raise BadRequest(f"key '{key_id}' is revoked", code="key_revoked")
            if grace_hours > 0:
                row.previous_secret_hash = row.secret_hash
                row.previous_signing_salt = row.signing_salt
                row.previous_valid_until = now + timedelta(hours=grace_hours)
            else:
                row.previous_secret_hash = None
                row.previous_signing_salt = None
                row.previous_valid_until = None
            row.secret_hash = keymat.hash_key(self.pepper, secret)
            if row.signing_salt is not None:
                row.signing_salt = keymat.new_salt()
            self._audit(
                session, actor, "key.rotate", key_id,
                {"grace_hours": grace_hours,
                 "previous_valid_until": _iso(row.previous_valid_until)},
            )
        salt = row.signing_salt
        return IssuedKey(
            KeyInfo.from_row(row),
            secret,
            keymat.signing_secret(self.pepper, salt) if salt else None,
        )

    # -- users --------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserInfo:
        async with self._sessions() as session:
            row = await session.get(User, user_id)
        if row is None:
            raise NotFound(f"no user with id '{user_id}'", code="user_not_found")
        return UserInfo.from_row(row)

    async def list_users(
        self, *, suspended: bool | None = None, limit: int = 1000
    ) -> builtins.list[UserInfo]:
        """Users by id; ``suspended`` keeps only (un)suspended ones."""
        query = select(User).order_by(User.id).limit(limit)
        if suspended is not None:
            query = query.where(User.suspended.is_(suspended))
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [UserInfo.from_row(r) for r in rows]

    async def suspend_user(
        self, user_id: str, *, reason: str | None = None, actor: Actor = CLI_ACTOR
    ) -> UserInfo:
        async with self._sessions() as session, session.begin():
            row = await self._get_user(session, user_id)
            row.suspended = True
            row.suspended_reason = reason
            row.suspended_at = self.now()
            self._audit(session, actor, "user.suspend", user_id, {"reason": reason})
        return UserInfo.from_row(row)

    async def unsuspend_user(self, user_id: str, *, actor: Actor = CLI_ACTOR) -> UserInfo:
        async with self._sessions() as session, session.begin():
            row = await self._get_user(session, user_id)
            row.suspended = False
            row.suspended_reason = None
            row.suspended_at = None
            self._audit(session, actor, "user.unsuspend", user_id, {})
        return UserInfo.from_row(row)

    # -- audit ----------------------------------------------------------------------------------

    async def record(
        self, action: str, target: str | None, details: dict[str, Any], actor: Actor
    ) -> None:
        """An audit entry for an action that changed nothing here (e.g. a denied attempt)."""
        async with self._sessions() as session, session.begin():
            self._audit(session, actor, action, target, details)

    async def audit(
        self, *, limit: int = 100, action: str | None = None, target: str | None = None
    ) -> builtins.list[AuditInfo]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        async with self._sessions() as session:
            rows = (await session.scalars(query)).all()
        return [
            AuditInfo(r.id, r.at, r.action, r.actor, r.target, r.client_address, dict(r.details))
            for r in rows
        ]

    # -- helpers --------------------------------------------------------------------------------

    def _audit(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        target: str | None,
        details: dict[str, Any],
    ) -> None:
        session.add(audit_entry(self.now(), actor, action, target, details))

    @staticmethod
    async def _get_key(session: AsyncSession, key_id: str, *, lock: bool = False) -> ApiKey:
        query = select(ApiKey).where(ApiKey.id == key_id)
        if lock:
            query = query.with_for_update()
        row = (await session.scalars(query)).one_or_none()
        if row is None:
            raise NotFound(f"no key with id '{key_id}'", code="key_not_found")
        return row

    @staticmethod
    async def _get_user(session: AsyncSession, user_id: str) -> User:
        row = (
            await session.scalars(select(User).where(User.id == user_id).with_for_update())
        ).one_or_none()
        if row is None:
            raise NotFound(f"no user with id '{user_id}'", code="user_not_found")
        return row


def _pepper_path(settings: Settings) -> Path:
    from doorman.state import state_dir

    return state_dir(settings) / PEPPER_FILE_NAME
