"""Tables of the governance area (RFC-0004/0013): escalations and approval requests.

Arbitration requests and RFC-0003 decisions are events only (``oi_events``); RFC-0013
decision records belong to the coordinators area. ``seq`` orders rows by insertion
(newest-first listings must not depend on timestamp ties); ``id`` is the wire id.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "TABLES", "ApprovalRow", "EscalationRow"]


class EscalationRow(Table, tablename="oi_escalations"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    escalated_by = Text(default="")
    reason = Text()
    priority = Text(default="medium")
    urgency = Text(default="medium")
    context = Text(default="{}")
    status = Varchar(length=32, default="pending", index=True)
    created_at = Timestamp()
    resolved_at = Timestamp(null=True, default=None)
    resolved_by = Text(null=True, default=None)
    resolution = Text(null=True, default=None)
    resolution_notes = Text(null=True, default=None)


class ApprovalRow(Table, tablename="oi_approvals"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    requested_by = Text(default="")
    action = Text()
    reason = Text(default="")
    context = Text(default="{}")
    status = Varchar(length=32, default="pending")
    created_at = Timestamp()
    decided_at = Timestamp(null=True, default=None)
    decided_by = Text(null=True, default=None)
    decision_notes = Text(null=True, default=None)


TABLES: list[type[Table]] = [EscalationRow, ApprovalRow]

# The completion gate counts approved "complete" approvals of one intent.
INDEXES: list[str] = [
    "CREATE INDEX IF NOT EXISTS oi_approvals_gate ON oi_approvals (intent_id, action, status)",
]
