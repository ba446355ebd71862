"""piccolo tables of the protocol core (RFC-0001 intents, events, assignments, streams).

JSON documents are stored as text and encoded by the store, so both engines hold the
same bytes and no engine-specific JSON handling leaks into services. Timestamps are
naive UTC. Other areas define their tables in their own ``*_tables.py`` modules and
list them in ``schema.py``.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Real, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["AssignmentRow", "EventRow", "IdempotencyRow", "IntentRow", "StreamRow"]


class IntentRow(Table, tablename="oi_intents"):
    id = Varchar(length=36, primary_key=True)
    title = Text()
    description = Text(default="")
    created_by = Text(default="")
    # Indexed for children only (``schema.INDEXES``): most intents have no parent.
    parent_id = Varchar(length=255, null=True, default=None)
    depends_on = Text(default="[]")
    constraints = Text(default="{}")
    state = Text(default="{}")
    status = Varchar(length=64, default="draft", index=True)
    confidence = Real(default=0.0)
    version = Integer(default=1)
    governance_policy = Text(null=True, default=None)
    created_at = Timestamp()
    updated_at = Timestamp()


class EventRow(Table, tablename="oi_events"):
    """The append-only log; ``seq`` orders events globally, ``id`` is the wire id."""

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255)  # indexed with seq (``schema.INDEXES``)
    event_type = Varchar(length=255)
    actor = Text(null=True, default=None)
    payload = Text(default="{}")
    created_at = Timestamp()
    # The event as the log listing serves it, written once with the (immutable) event:
    # a page of the log is then one text column per row, joined.
    wire = Text(null=True, default=None)


class AssignmentRow(Table, tablename="oi_assignments"):
    id = Varchar(length=36, primary_key=True)
    intent_id = Varchar(length=255, index=True)
    agent_id = Varchar(length=255, index=True)
    role = Varchar(length=255, default="worker")
    assigned_at = Timestamp()


class StreamRow(Table, tablename="oi_stream"):
    """SSE messages, written with the change they announce, replayed by ``Last-Event-ID``."""

    seq = BigSerial(primary_key=True)
    channel = Varchar(length=300)  # indexed with seq (``schema.INDEXES``)
    name = Varchar(length=255)
    data = Text()
    created_at = Timestamp()


class IdempotencyRow(Table, tablename="oi_idempotency"):
    """First response to a create sent with an ``Idempotency-Key`` header."""

    key = Varchar(length=600, primary_key=True)
    status_code = Integer()
    body = Text()
    created_at = Timestamp()
