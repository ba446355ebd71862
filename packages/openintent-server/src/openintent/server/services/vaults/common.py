"""What the vault services share: the configuration they need (``VaultSettings``),
messages, limits, and replaying a create repeated with the same ``Idempotency-Key``."""

from __future__ import annotations

from typing import Any, TypeVar

from openintent.core.converter import to_wire
from openintent.models._base import WireModel
from openintent.models.enums import AuthType
from openintent.server.config import ServerConfig
from openintent.server.services import idempotency
from openintent.server.services.principal import Principal
from openintent.server.services.secrets import SecretBox, load_box
from openintent.server.services.tools.adapters import ADAPTERS
from openintent.server.services.tools.http import HostPolicy, Resolver
from openintent.server.store.database import Database
from openintent.server.store.schema import register_tables
from openintent.server.store.vaults_tables import INDEXES, TABLES

__all__ = [
    "AUTH_TYPES",
    "CREDENTIAL_NOT_FOUND",
    "DEFAULT_MAX_DELEGATION_DEPTH",
    "GRANT_NOT_FOUND",
    "INVOCATION_STATUSES",
    "VAULT_NOT_FOUND",
    "VaultSettings",
]

register_tables(TABLES, indexes=INDEXES)
M = TypeVar("M", bound=WireModel)
VAULT_NOT_FOUND = "Vault not found"
CREDENTIAL_NOT_FOUND = "Credential not found"
GRANT_NOT_FOUND = "Grant not found"
DEFAULT_MAX_DELEGATION_DEPTH = 3
#: Statuses an invocation record may have (manual records: the first four).
INVOCATION_STATUSES = ("success", "error", "denied", "timeout")
AUTH_TYPES = frozenset({a.value for a in AuthType} | set(ADAPTERS))


class VaultSettings:
    """The configuration the vault and tool services need, bound on first use.

    ``Services`` is built from the database alone; the app's ``ServerConfig`` reaches
    these services through their route dependency (``api.vaults``), which binds it here.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.config: ServerConfig | None = None
        self.resolver: Resolver | None = None  # tests substitute DNS
        self._box: SecretBox | None = None

    def bind(self, config: ServerConfig) -> None:
        if self.config is None:
            self.config = config

    def box(self) -> SecretBox:
        if self._box is None:
            key = self.config.secret_key if self.config else None
            self._box = load_box(key, self.db.url)
        return self._box

    def policy(self) -> HostPolicy:
        allow = self.config.tool_allow_hosts if self.config else frozenset()
        return HostPolicy.from_entries(allow, self.resolver)


async def _replayed(principal: Principal, route: str, key: str | None, model: type[M]) -> M | None:
    """The first answer to a create repeated with the same ``Idempotency-Key``."""
    if not key:
        return None
    stored = await idempotency.claim(idempotency.scoped_key(principal, route, key))
    return model.from_dict(stored) if stored is not None else None


async def _remember(principal: Principal, route: str, key: str | None, answer: Any) -> None:
    if key:
        await idempotency.record(idempotency.scoped_key(principal, route, key), to_wire(answer))
