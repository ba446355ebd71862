"""Writing to and reading from the intent event log (shared by every area)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from openintent.core.converter import utcnow
from openintent.models import EventType, IntentEvent
from openintent.server.store.database import current_unit, dump_json, load_json
from openintent.server.store.tables import EventRow

__all__ = ["event_from_row", "list_events", "record_event"]


def event_from_row(row: dict[str, Any]) -> IntentEvent:
    return IntentEvent.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "event_type": row["event_type"],
            "actor": row["actor"],
            "payload": load_json(row["payload"], {}),
            "created_at": row["created_at"],
        }
    )


async def record_event(
    intent_id: str, event_type: EventType | str, actor: str | None, payload: dict[str, Any]
) -> IntentEvent:
    """Append an event; call inside ``db.write()`` so it commits with its change."""
    await current_unit().order_lock()
    event = IntentEvent(
        id=str(uuid.uuid4()),
        intent_id=intent_id,
        event_type=event_type,
        actor=actor,
        payload=payload,
        created_at=utcnow(),
    )
    await EventRow.insert(
        EventRow(
            id=event.id,
            intent_id=intent_id,
            event_type=str(event_type),
            actor=actor,
            payload=dump_json(payload),
            created_at=event.created_at,
        )
    )
    return event


async def list_events(
    intent_id: str,
    *,
    event_type: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IntentEvent]:
    """Newest first, as the reference serves the log."""
    where = EventRow.intent_id == intent_id
    if event_type:
        where &= EventRow.event_type == event_type
    if since is not None:
        where &= EventRow.created_at >= since
    rows = (
        await EventRow.select()
        .where(where)
        .order_by(EventRow.seq, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    return [event_from_row(row) for row in rows]
