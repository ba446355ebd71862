"""piccolo tables of RFC-0017 triggers, their firing history and the intents they made.

Firing once per due time is a database rule, not process memory. Each firing first
inserts its ``oi_trigger_firings`` row, whose ``claim`` is unique: ``<trigger>|schedule|
<due time>``, ``<trigger>|event|<event id>``, or a fresh id for manual and webhook
firings. A second process trying the same claim gets no row back and stands down (on
PostgreSQL it waits for the first transaction, then sees the conflict). Scheduled
firings also move ``next_fire_at`` with a compare-and-set on ``schedule_seq``.

The webhook secret lives in its own column, never inside ``condition``, so no read path
can return it. One trigger per webhook ``(path, method)`` (unique partial index).
"""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = [
    "TRIGGER_INDEXES",
    "TriggerCursorRow",
    "TriggerFiringRow",
    "TriggerIntentRow",
    "TriggerRow",
]


class TriggerRow(Table, tablename="oi_triggers"):
    seq = BigSerial(primary_key=True)
    trigger_id = Varchar(length=36, unique=True)
    name = Text()
    type = Varchar(length=16, index=True)
    enabled = Boolean(default=True)
    condition = Text(null=True, default=None)  # JSON, without the secret
    secret = Text(null=True, default=None)
    intent_template = Text(null=True, default=None)
    deduplication = Varchar(length=16, default="allow")
    namespace = Varchar(length=255, null=True, default=None, index=True)
    fire_count = Integer(default=0)
    version = Integer(default=1)
    created_by = Text(default="")
    created_at = Timestamp()
    updated_at = Timestamp()
    last_fired_at = Timestamp(null=True, default=None)
    # schedule triggers: the next due time (naive UTC) and the compare-and-set counter
    next_fire_at = Timestamp(null=True, default=None, index=True)
    schedule_seq = Integer(default=0)
    # deduplication "queue": one deferred firing and the variables it was made with
    queued_at = Timestamp(null=True, default=None)
    queued_variables = Text(null=True, default=None)
    # webhook triggers: where the receiver listens
    webhook_path = Varchar(length=1000, null=True, default=None)
    webhook_method = Varchar(length=16, null=True, default=None)


class TriggerFiringRow(Table, tablename="oi_trigger_firings"):
    """History; kept when the trigger is deleted."""

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    trigger_id = Varchar(length=36, index=True)
    claim = Varchar(length=400, unique=True)
    source = Varchar(length=16)
    outcome = Varchar(length=32)
    due_at = Timestamp(null=True, default=None)
    event_id = Varchar(length=255, null=True, default=None)
    intent_id = Varchar(length=36, null=True, default=None)
    detail = Text(default="{}")
    fired_at = Timestamp()


class TriggerIntentRow(Table, tablename="oi_trigger_intents"):
    """Lineage of each trigger-made intent: deduplication scope and cascade depth."""

    intent_id = Varchar(length=36, primary_key=True)
    trigger_id = Varchar(length=36, index=True)
    template_type = Text(default="")
    namespace = Varchar(length=255, null=True, default=None)
    depth = Integer(default=1)
    chain = Text(default="[]")
    created_at = Timestamp()


class TriggerCursorRow(Table, tablename="oi_trigger_cursors"):
    """How far event triggers have read each log (``intents``, ``agents``)."""

    name = Varchar(length=32, primary_key=True)
    last_seq = BigInt(default=0)


TRIGGER_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_triggers_webhook ON oi_triggers "
    "(webhook_path, webhook_method) WHERE webhook_path IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS oi_trigger_intents_scope ON oi_trigger_intents "
    "(template_type, namespace)",
    "CREATE INDEX IF NOT EXISTS oi_trigger_firings_trigger_seq ON oi_trigger_firings "
    "(trigger_id, seq)",
]
