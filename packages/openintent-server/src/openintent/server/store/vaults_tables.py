"""Tables of RFC-0014: vaults, credentials, tool grants, tool invocations.

Secret material lives only in ``CredentialRow.sealed``: AES-256-GCM ciphertext made by
``services.secrets``; ``public_metadata`` holds what responses may show. Principals are
stored as ``sha256(api key)`` (``*_by_key``), never the key itself.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Boolean, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "TABLES", "CredentialRow", "GrantRow", "InvocationRow", "VaultRow"]


class VaultRow(Table, tablename="oi_vaults"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    owner_id = Text()
    name = Text()
    created_by_key = Text(default="")
    created_at = Timestamp()


class CredentialRow(Table, tablename="oi_credentials"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    vault_id = Varchar(length=36, index=True)
    service = Text(index=True)
    label = Text()
    auth_type = Text(default="api_key")
    scopes_available = Text(default="[]")
    status = Varchar(length=16, default="active")
    public_metadata = Text(default="{}")
    # "v1.<key id>.<base64url(nonce|ciphertext)>"; null when there is no secret material
    sealed = Text(null=True, default=None)
    created_by_key = Text(default="")
    created_at = Timestamp()
    rotated_at = Timestamp(null=True, default=None)
    expires_at = Timestamp(null=True, default=None)
    revoked_at = Timestamp(null=True, default=None)


class GrantRow(Table, tablename="oi_tool_grants"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    credential_id = Varchar(length=36, index=True)
    agent_id = Text(index=True)
    granted_by = Text()
    scopes = Text(default="[]")
    constraints = Text(null=True, default=None)
    source = Varchar(length=16, default="direct")
    delegatable = Boolean(default=False)
    delegation_depth = Integer(default=0)
    delegated_from = Varchar(length=36, null=True, default=None, index=True)
    context = Text(default="{}")
    status = Varchar(length=16, default="active")
    status_reason = Text(null=True, default=None)
    expires_at = Timestamp(null=True, default=None)
    created_by_key = Text(default="")
    created_at = Timestamp()
    revoked_at = Timestamp(null=True, default=None)
    # touched by every proxied call: the row lock that serialises rate-limit checks
    last_used_at = Timestamp(null=True, default=None)


class InvocationRow(Table, tablename="oi_tool_invocations"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    grant_id = Varchar(length=36)
    service = Text()
    tool = Text()
    agent_id = Text(index=True)
    parameters = Text(default="{}")
    status = Varchar(length=16)
    result = Text(null=True, default=None)
    error = Text(null=True, default=None)
    cost = Text(null=True, default=None)
    duration_ms = Integer(null=True, default=None)
    idempotency_key = Text(null=True, default=None)
    # "<agent>\x1f<key>" for proxied calls with a key: unique, so a retry replays
    idempotency_scope = Text(null=True, default=None)
    context = Text(default="{}")
    intent_id = Text(null=True, default=None, index=True)
    task_id = Text(null=True, default=None, index=True)
    proxied = Boolean(default=False)
    timestamp = Timestamp()


TABLES: list[type[Table]] = [VaultRow, CredentialRow, GrantRow, InvocationRow]

INDEXES = [
    "CREATE INDEX IF NOT EXISTS oi_tool_invocations_grant_time "
    "ON oi_tool_invocations (grant_id, timestamp)",
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_tool_invocations_idempotency "
    "ON oi_tool_invocations (idempotency_scope)",
]
