"""Event triggers: read the event logs after a stored cursor and fire what matches.

Two logs are read, each with its own cursor: the intent event log (``oi_events``) and
the agents' lifecycle log (``oi_agent_events``). A pass reads one batch, fires every
matching enabled event trigger (each firing claimed by ``<trigger>|event|<event id>``)
and moves the cursor by compare-and-set, all in one transaction: a process that loses
the race rolls back its firings, a crash loses nothing (the batch is read again), and
no event fires a trigger twice. Events are written with the stream-order lock, so their
sequence numbers become visible in order and the cursor never skips one.

Matching (``condition.event``): the stored event type exactly, a glob (``task.*``), or
one of the RFC-0017 source names mapped onto what this server logs (``intent.created``
-> ``intent_created``, ``intent.resolved`` -> ``status_changed`` to ``completed``, ...).
``condition.filter`` keys are dotted paths into the payload (then into the event
itself, e.g. ``intent_id``); values match exactly, or as globs when they are strings
with ``*``, ``?`` or ``[``. A trigger only sees events logged after it was created.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Mapping
from typing import Any

from openintent.core.converter import structure
from openintent.models import TriggerCondition, TriggerType
from openintent.server.services.triggers.firing import Cause, Firer, acting_for
from openintent.server.store.agents_tables import AgentEventRow
from openintent.server.store.database import Database, load_json
from openintent.server.store.tables import EventRow
from openintent.server.store.triggers_tables import TriggerCursorRow, TriggerRow

__all__ = ["EVENT_SOURCES", "EventTail", "event_matches"]

PayloadTest = Callable[[Mapping[str, Any]], bool] | None


def _status_is(status: str) -> PayloadTest:
    return lambda payload: payload.get("status") == status


#: RFC-0017 source names -> the event types this server logs, and a payload test.
EVENT_SOURCES: dict[str, tuple[frozenset[str], PayloadTest]] = {
    "intent.created": (frozenset({"intent_created"}), None),
    "intent.state_changed": (frozenset({"state_patched"}), None),
    "intent.status_changed": (frozenset({"status_changed"}), None),
    "intent.resolved": (frozenset({"status_changed"}), _status_is("completed")),
    "intent.completed": (frozenset({"status_changed"}), _status_is("completed")),
    "intent.failed": (frozenset({"status_changed"}), _status_is("abandoned")),
    "intent.abandoned": (frozenset({"status_changed"}), _status_is("abandoned")),
    "agent.status_changed": (frozenset({"agent.lifecycle"}), None),
    "lease.claimed": (frozenset({"lease_acquired"}), None),
    "lease.released": (frozenset({"lease_released"}), None),
}
_GLOB = frozenset("*?[")
_MISSING = object()


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _value_matches(found: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(found, str) and _GLOB & set(expected):
        return fnmatch.fnmatchcase(found, expected)
    return bool(found == expected)


def event_matches(condition: TriggerCondition, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` (``event_type``, ``payload``, ...) fires an event trigger."""
    pattern, kind = condition.event, event["event_type"]
    if not pattern:
        return False
    payload = event.get("payload") or {}
    if pattern in EVENT_SOURCES:
        types, test = EVENT_SOURCES[pattern]
        if kind not in types or (test is not None and not test(payload)):
            return False
    elif not (kind == pattern or (_GLOB & set(pattern) and fnmatch.fnmatchcase(kind, pattern))):
        return False
    for key, expected in (condition.filter or {}).items():
        found = _lookup(payload, key)
        if found is _MISSING:
            found = _lookup(event, key)
        if found is _MISSING or not _value_matches(found, expected):
            return False
    return True


class _LostRace(Exception):
    """Another process moved the cursor first; roll this pass back."""


_LOGS: dict[str, Any] = {"intents": EventRow, "agents": AgentEventRow}


class EventTail:
    def __init__(self, db: Database, firer: Firer, *, batch: int = 200) -> None:
        self.db = db
        self.firer = firer
        self.batch = batch

    async def run(self, now: dt.datetime) -> int:
        """Read both logs up to their ends; returns how many firings were made."""
        fired = 0
        for name, table in _LOGS.items():
            while True:
                read, made = await self._pass(name, table, now)
                fired += made
                if read < self.batch:
                    break
        return fired

    async def _pass(self, name: str, table: Any, now: dt.datetime) -> tuple[int, int]:
        peek = await TriggerCursorRow.select().where(TriggerCursorRow.name == name)
        if peek and not await table.exists().where(table.seq > peek[0]["last_seq"]):
            return 0, 0  # an idle log costs one read, no write
        triggers = await self._event_triggers()
        if not triggers:
            await self._skip_to_end(name, table)
            return 0, 0
        try:
            async with self.db.write():
                cursor = await self._cursor(name, table, triggers)
                rows = (
                    await table.select()
                    .where(table.seq > cursor)
                    .order_by(table.seq)
                    .limit(self.batch)
                )
                if not rows:
                    return 0, 0
                made = 0
                for row in rows:
                    event = _event(name, row)
                    for trigger in triggers:
                        if row["created_at"] < trigger["created_at"]:
                            continue
                        if not event_matches(trigger["condition"], event):
                            continue
                        outcome = await self.firer.fire(
                            trigger["trigger_id"], _cause(trigger, event), now
                        )
                        made += outcome.outcome == "created"
                moved = (
                    await TriggerCursorRow.update({TriggerCursorRow.last_seq: rows[-1]["seq"]})
                    .where((TriggerCursorRow.name == name) & (TriggerCursorRow.last_seq == cursor))
                    .returning(TriggerCursorRow.name)
                )
                if not moved:
                    raise _LostRace
                return len(rows), made
        except _LostRace:
            return 0, 0

    async def _skip_to_end(self, name: str, table: Any) -> None:
        """No enabled event trigger exists, so no event can fire one: move the cursor to
        the end of the log without reading it (a busy server writes many events)."""
        async with self.db.write():
            cursor = await self._cursor(name, table, [])
            last = await table.select(table.seq).order_by(table.seq, ascending=False).limit(1)
            if last and last[0]["seq"] > cursor:
                await TriggerCursorRow.update({TriggerCursorRow.last_seq: last[0]["seq"]}).where(
                    (TriggerCursorRow.name == name) & (TriggerCursorRow.last_seq == cursor)
                )

    async def _event_triggers(self) -> list[dict[str, Any]]:
        rows = await TriggerRow.select(
            TriggerRow.trigger_id,
            TriggerRow.condition,
            TriggerRow.created_at,
            TriggerRow.created_by,
        ).where((TriggerRow.type == TriggerType.EVENT.value) & (TriggerRow.enabled == True))  # noqa: E712
        found = []
        for row in rows:
            raw = load_json(row["condition"])
            if raw is None:
                continue
            found.append({**row, "condition": structure(raw, TriggerCondition)})
        return found

    async def _cursor(self, name: str, table: Any, triggers: list[dict[str, Any]]) -> int:
        """The stored cursor. A new one starts after the events older than every event
        trigger (they could never fire one), so a long existing log is not re-read."""
        rows = await TriggerCursorRow.select().where(TriggerCursorRow.name == name)
        if rows:
            return int(rows[0]["last_seq"])
        query = table.select(table.seq).order_by(table.seq, ascending=False).limit(1)
        if triggers:
            query = query.where(table.created_at < min(t["created_at"] for t in triggers))
        last = await query
        start = int(last[0]["seq"]) if last else 0
        await TriggerCursorRow.insert(TriggerCursorRow(name=name, last_seq=start)).on_conflict(
            action="DO NOTHING"
        )
        rows = await TriggerCursorRow.select().where(TriggerCursorRow.name == name)
        return int(rows[0]["last_seq"])


def _event(log: str, row: dict[str, Any]) -> dict[str, Any]:
    event = {
        "id": row["id"],
        "event_type": row["event_type"],
        "type": row["event_type"],
        "actor": row["actor"],
        "payload": load_json(row["payload"], {}),
        "created_at": row["created_at"].isoformat(),
    }
    if log == "intents":
        event["intent_id"] = row["intent_id"]
    else:
        event["agent_id"] = row["agent_id"]
    return event


def _cause(trigger: dict[str, Any], event: dict[str, Any]) -> Cause:
    return Cause(
        source="event",
        claim=f"{trigger['trigger_id']}|event|{event['id']}",
        principal=acting_for(trigger),
        variables={"event": event},
        event_id=event["id"],
        cause_intent_id=event.get("intent_id"),
    )
