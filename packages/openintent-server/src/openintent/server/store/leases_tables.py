"""piccolo table of RFC-0003 scope leases.

One holder per scope is a database rule, not a check in process memory: ``active`` is
1 while a lease may still be held and 0 once it is released or found expired, and a
unique partial index allows one ``active`` row per ``(intent_id, scope)``. Expiry is a
timestamp, so the index cannot see it by itself; every acquisition first sets
``active = 0`` on the scope's expired rows in the same transaction (see
``services/leases.py``).
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

from openintent.server.store.sql import Statement

__all__ = [
    "INSERT_LEASE",
    "LEASE_INDEXES",
    "LIVE_LEASES_OF_OTHERS",
    "RELEASE_OWN_LEASE",
    "RETIRE_EXPIRED_ON_SCOPE",
    "LeaseRow",
]


class LeaseRow(Table, tablename="oi_leases"):
    """``seq`` keeps insertion order for listings; ``id`` is the wire id."""

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    scope = Text()
    holder = Text()  # the acquirer's API key; ``agent_id`` on the wire
    acquired_at = Timestamp()
    expires_at = Timestamp()
    released_at = Timestamp(null=True, default=None)
    active = Integer(default=1)


LEASE_INDEXES: list[str] = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_leases_one_active "
    "ON oi_leases (intent_id, scope) WHERE active = 1",
]

# Constant SQL for the statements of every acquire, release and guarded state patch.

#: Leases on an intent held at a time by anyone but a holder (the write guard).
LIVE_LEASES_OF_OTHERS = Statement.of(
    "SELECT seq, id, intent_id, scope, holder, acquired_at, expires_at, released_at, active"
    " FROM oi_leases WHERE intent_id = ? AND holder <> ? AND active = 1"
    " AND released_at IS NULL AND expires_at > ? ORDER BY seq"
)

#: Before an acquisition: retire the scope's expired lease so the index admits a new one.
RETIRE_EXPIRED_ON_SCOPE = Statement.of(
    "UPDATE oi_leases SET active = 0"
    " WHERE intent_id = ? AND scope = ? AND active = 1 AND expires_at <= ?"
)

#: No row back means the unique index found a live lease on the scope.
INSERT_LEASE = Statement.of(
    "INSERT INTO oi_leases (id, intent_id, scope, holder, acquired_at, expires_at, released_at,"
    " active) VALUES (?, ?, ?, ?, ?, ?, NULL, 1) ON CONFLICT DO NOTHING RETURNING id"
)

#: Release by its holder while it is live; no row back means nothing was held.
RELEASE_OWN_LEASE = Statement.of(
    "UPDATE oi_leases SET released_at = ?, active = 0"
    " WHERE id = ? AND intent_id = ? AND holder = ?"
    " AND active = 1 AND released_at IS NULL AND expires_at > ? RETURNING scope"
)
