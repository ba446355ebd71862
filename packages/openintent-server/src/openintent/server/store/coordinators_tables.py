"""Tables of RFC-0013: coordinator leases and decision records.

One coordinator per intent (or portfolio) is a database rule: ``slot`` names what a
lease coordinates (``intent:<id>`` / ``portfolio:<id>``), ``active`` is 1 while the
lease holds it, and a unique partial index admits one active row per slot. Liveness
is stored as two timestamps refreshed by every heartbeat, so every engine can compare
them with the clock: ``unresponsive_at`` (two missed heartbeats) and ``dead_at`` (three
missed heartbeats, or ``expires_at`` if sooner). A lease past ``dead_at`` still holds
its slot until someone takes over, which retires it in the same transaction as the
new lease's insert (see ``services/coordinators.py``).
"""

from __future__ import annotations

from piccolo.columns import BigSerial, DoublePrecision, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "TABLES", "CoordinatorLeaseRow", "DecisionRecordRow"]


class CoordinatorLeaseRow(Table, tablename="oi_coordinator_leases"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, null=True, default=None, index=True)
    portfolio_id = Varchar(length=255, null=True, default=None)
    slot = Varchar(length=300, null=True, default=None)
    agent_id = Text()
    role = Text(default="coordinator")
    supervisor_id = Text(null=True, default=None)
    coordinator_type = Varchar(length=32, default="llm")
    scope = Varchar(length=32, default="intent")
    status = Varchar(length=32, default="active")
    active = Integer(default=1)
    guardrails = Text(null=True, default=None)
    heartbeat_interval_seconds = Integer(default=60)
    last_heartbeat = Timestamp(null=True, default=None)
    last_report = Text(null=True, default=None)
    granted_at = Timestamp()
    expires_at = Timestamp(null=True, default=None)
    unresponsive_at = Timestamp()
    dead_at = Timestamp()
    ended_at = Timestamp(null=True, default=None)
    # Recorded failures of the intent when the failure guardrail last escalated (0: never).
    failures_escalated = Integer(default=0)
    version = Integer(default=1)
    metadata_json = Text(default="{}")


class DecisionRecordRow(Table, tablename="oi_decision_records"):
    """Append-only; ``seq`` orders the newest-first listing (timestamps can tie)."""

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    coordinator_id = Text()
    intent_id = Varchar(length=255, index=True)
    decision_type = Varchar(length=64)
    summary = Text()
    rationale = Text()
    alternatives_considered = Text(default="[]")
    confidence = DoublePrecision(null=True, default=None)
    timestamp = Timestamp()


TABLES: list[type[Table]] = [CoordinatorLeaseRow, DecisionRecordRow]

INDEXES: list[str] = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_coordinator_leases_one_active "
    "ON oi_coordinator_leases (slot) WHERE active = 1",
]
