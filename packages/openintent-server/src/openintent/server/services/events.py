"""Writing to and reading from the intent event log (shared by every area)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.models import EventType, IntentEvent
from openintent.server.ids import new_id
from openintent.server.store import core_sql
from openintent.server.store.database import Database, current_unit, dump_json, load_json
from openintent.server.store.wire_rows import event_text, join_array

__all__ = ["event_from_row", "list_events_json", "record_event"]


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
    uow = current_unit()
    await uow.order_lock()
    event = IntentEvent(
        id=new_id(),
        intent_id=intent_id,
        event_type=event_type,
        actor=actor,
        payload=payload,
        created_at=uow.now,
    )
    kind, payload_text = str(event_type), dump_json(payload)
    wire = event_text(event.id, intent_id, kind, actor, payload_text, event.created_at)
    await uow.db.execute(
        core_sql.INSERT_EVENT,
        event.id,
        intent_id,
        kind,
        actor,
        payload_text,
        uow.stamp,
        wire,
    )
    return event


async def list_events_json(
    db: Database,
    intent_id: str,
    *,
    event_type: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> bytes:
    """A page of the log, newest first, as the JSON array the route sends: the events'
    stored wire texts (``oi_events.wire``, written with each event), joined."""
    args: list[Any] = [intent_id]
    if event_type:
        args.append(event_type)
    if since is not None:
        args.append(since)
    statement = core_sql.EVENT_PAGE[bool(event_type), since is not None]
    rows = await db.fetch_tuples(statement, *args, limit, offset)
    return join_array([wire for (wire,) in rows])
