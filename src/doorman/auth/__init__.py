"""Who is calling: virtual keys, users and tiers, rotation, request signing, lock-out."""

from doorman.auth.authenticator import Authenticator
from doorman.auth.master import ensure_master_key, require_master
from doorman.auth.principal import Principal
from doorman.auth.service import KeyService

__all__ = ["Authenticator", "KeyService", "Principal", "ensure_master_key", "require_master"]
