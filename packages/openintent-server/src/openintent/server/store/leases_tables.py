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

__all__ = ["LEASE_INDEXES", "LeaseRow"]


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
