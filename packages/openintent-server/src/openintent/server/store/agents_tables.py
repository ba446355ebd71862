"""piccolo tables of RFC-0016 agent lifecycle: the registry and each agent's event log.

``status`` is the last status written; the status in force is derived from it and the
heartbeat age (``services/agents.py``). ``next_check_at`` is the earliest time the
derived status can change (a silence threshold or a drain deadline), so the scheduler's
sweep reads only the rows that are due instead of every agent.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["AGENT_INDEXES", "AgentEventRow", "AgentRow"]


class AgentRow(Table, tablename="oi_agents"):
    agent_id = Varchar(length=255, primary_key=True)
    status = Varchar(length=32, default="active", index=True)
    role_id = Varchar(length=255, null=True, default=None, index=True)
    name = Text(null=True, default=None)
    capabilities = Text(default="[]")
    capacity = Text(null=True, default=None)
    endpoint = Text(null=True, default=None)
    heartbeat_config = Text(null=True, default=None)
    metadata = Text(default="{}")
    registered_at = Timestamp()
    registered_by = Text(default="")
    last_heartbeat_at = Timestamp(null=True, default=None)
    drain_timeout_seconds = Integer(null=True, default=None)
    drain_started_at = Timestamp(null=True, default=None)
    status_changed_at = Timestamp()
    next_check_at = Timestamp(null=True, default=None, index=True)
    version = Integer(default=1)


class AgentEventRow(Table, tablename="oi_agent_events"):
    """Append-only, like ``oi_events``; ``seq`` orders it for readers that tail it."""

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    agent_id = Varchar(length=255)
    event_type = Varchar(length=255)
    actor = Text(null=True, default=None)
    payload = Text(default="{}")
    created_at = Timestamp()


AGENT_INDEXES = [
    "CREATE INDEX IF NOT EXISTS oi_agent_events_agent_seq ON oi_agent_events (agent_id, seq)",
]
