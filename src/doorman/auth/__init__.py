"""Who is calling: virtual keys, users and tiers, rotation, request signing, lock-out.

Names are imported lazily: ``doorman.config`` imports ``doorman.auth.settings``, and the
authenticator imports ``doorman.config`` — eager imports here would make that a cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorman.auth.authenticator import Authenticator
    from doorman.auth.master import ensure_master_key, require_master
    from doorman.auth.principal import Principal
    from doorman.auth.service import KeyService

_WHERE = {
    "Authenticator": "doorman.auth.authenticator",
    "KeyService": "doorman.auth.service",
    "Principal": "doorman.auth.principal",
    "ensure_master_key": "doorman.auth.master",
    "require_master": "doorman.auth.master",
}

__all__ = ["Authenticator", "KeyService", "Principal", "ensure_master_key", "require_master"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
