"""Agent status transitions: row locks, settling the status in force, and the
``agent.lifecycle`` / ``agent.dead`` events each transition writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import to_wire
from openintent.exceptions import NotFoundError
from openintent.models import AgentEvent, AgentRecord, AgentStatus, EventType
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services.agents.records import (
    _S,
    NOT_FOUND,
    SYSTEM,
    _columns,
    _iso,
    _next_check,
    agent_from_row,
    effective_status,
)
from openintent.server.store.agents_tables import AgentEventRow, AgentRow
from openintent.server.store.database import current_unit, dump_json

__all__ = ["AgentTransitions"]


class AgentTransitions:
    """Locks, transitions and their log (mixed into ``AgentService``)."""

    def _view(self, row: dict[str, Any], now: dt.datetime) -> AgentRecord:
        record = agent_from_row(row)
        record.status, _ = effective_status(row, now)
        return record

    async def _lock(self, agent_id: str) -> dict[str, Any] | None:
        query = AgentRow.select().where(AgentRow.agent_id == agent_id)
        if not self.db.is_sqlite:
            query = query.lock_rows()
        rows = await query
        return rows[0] if rows else None

    async def _require_locked(self, agent_id: str) -> dict[str, Any]:
        row = await self._lock(agent_id)
        if row is None:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return row

    async def _settle(self, row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """Write the transition time has brought about, if any; returns the current row."""
        status, reason = effective_status(row, now)
        if status == row["status"]:
            return row
        assert reason is not None
        return await self._transition(row, status, reason, SYSTEM, now, {})

    async def _update(self, row: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        merged = {**row, **values}
        values = {**values, "next_check_at": _next_check(merged)}
        rows = (
            await AgentRow.update(_columns(values))
            .where(AgentRow.agent_id == row["agent_id"])
            .returning(*AgentRow.all_columns())
        )
        return dict(rows[0])

    async def _transition(
        self,
        row: dict[str, Any],
        target: AgentStatus,
        reason: str,
        actor: str,
        now: dt.datetime,
        values: dict[str, Any],
    ) -> dict[str, Any]:
        previous = AgentStatus(row["status"])
        values = {**values, "status": target.value, "status_changed_at": now}
        if target == _S.DRAINING:
            values["drain_started_at"] = now
        else:
            values["drain_started_at"] = None
        merged = {**row, **values}
        values["next_check_at"] = _next_check(merged)
        rows = (
            await AgentRow.update({**_columns(values), AgentRow.version: AgentRow.version + 1})
            .where(AgentRow.agent_id == row["agent_id"])
            .returning(*AgentRow.all_columns())
        )
        updated = dict(rows[0])
        await self._log_transition(row["agent_id"], previous, target, reason, actor, now)
        if target == _S.DEAD:
            await self._log(
                row["agent_id"],
                EventType.AGENT_DEAD,
                actor,
                {
                    "agent_id": row["agent_id"],
                    "role_id": row["role_id"],
                    "last_heartbeat": _iso(row["last_heartbeat_at"]),
                },
                now,
            )
        return updated

    async def _log_transition(
        self,
        agent_id: str,
        previous: AgentStatus,
        target: AgentStatus,
        reason: str,
        actor: str,
        now: dt.datetime,
    ) -> None:
        payload = {
            "agent_id": agent_id,
            "previous_status": previous.value,
            "new_status": target.value,
            "reason": reason,
            "timestamp": _iso(now),
        }
        await self._log(agent_id, EventType.AGENT_LIFECYCLE, actor, payload, now)

    async def _log(
        self,
        agent_id: str,
        event_type: EventType,
        actor: str,
        payload: dict[str, Any],
        now: dt.datetime,
    ) -> AgentEvent:
        """Append to the agent's log and announce it on the agent's stream, in this write."""
        await current_unit().order_lock()
        event = AgentEvent(
            id=new_id(),
            agent_id=agent_id,
            event_type=event_type,
            actor=actor,
            payload=payload,
            created_at=now,
        )
        await AgentEventRow.insert(
            AgentEventRow(
                id=event.id,
                agent_id=agent_id,
                event_type=event_type.value,
                actor=actor,
                payload=dump_json(payload),
                created_at=now,
            )
        )
        await self.db.emit(channels.agent(agent_id), event_type.value, to_wire(event))
        return event
