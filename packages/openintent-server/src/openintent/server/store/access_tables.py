"""Tables of the access area (RFC-0011): per-intent policy, grants, access requests.

An intent without a policy row is ``open`` (the default), so the common case costs
one primary-key lookup. ``seq`` keeps insertion order for listings.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Text, Timestamp, Varchar
from piccolo.table import Table

from openintent.server.store.sql import Statement

__all__ = [
    "INDEXES",
    "POLICY_OF_INTENT",
    "TABLES",
    "AccessRequestRow",
    "AclEntryRow",
    "AclPolicyRow",
]


class AclPolicyRow(Table, tablename="oi_acl_policies"):
    intent_id = Varchar(length=255, primary_key=True)
    default_policy = Varchar(length=32, default="open")
    updated_at = Timestamp()


class AclEntryRow(Table, tablename="oi_acl_entries"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    principal_id = Text()
    principal_type = Text(default="agent")
    permission = Varchar(length=16, default="read")
    granted_by = Text(default="")
    granted_at = Timestamp()
    expires_at = Timestamp(null=True, default=None)
    reason = Text(null=True, default=None)


class AccessRequestRow(Table, tablename="oi_access_requests"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    principal_id = Text()
    principal_type = Text(default="agent")
    requested_permission = Varchar(length=16, default="write")
    reason = Text(default="")
    status = Varchar(length=32, default="pending")
    capabilities = Text(default="[]")
    decided_by = Text(null=True, default=None)
    decided_at = Timestamp(null=True, default=None)
    decision_reason = Text(null=True, default=None)
    created_at = Timestamp()


TABLES: list[type[Table]] = [AclPolicyRow, AclEntryRow, AccessRequestRow]

INDEXES: list[str] = [
    "CREATE INDEX IF NOT EXISTS oi_acl_entries_principal ON oi_acl_entries (intent_id, principal_id)",
]

#: Checked on every request under an intent (``api.access_guard``), so constant SQL.
POLICY_OF_INTENT = Statement.of("SELECT default_policy FROM oi_acl_policies WHERE intent_id = ?")
