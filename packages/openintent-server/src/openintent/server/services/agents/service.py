"""``AgentService``: the RFC-0016 registry's reads, registration, heartbeats,
operator status changes, the scheduler's sweep and the ``assign`` write guard."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from openintent.core.converter import to_dict, utcnow
from openintent.exceptions import ConflictError, GoneError, NotFoundError
from openintent.models import (
    AgentEvent,
    AgentHeartbeatResponse,
    AgentRecord,
    AgentRegisterRequest,
    AgentStatus,
    AgentStatusUpdateRequest,
    EventType,
    Heartbeat,
    HeartbeatConfig,
    merge_heartbeat,
)
from openintent.models.lifecycle import HEARTBEAT_STATUSES
from openintent.server.services._checks import integer, invalid
from openintent.server.services.agents.records import (
    _OPERATOR_REASONS,
    _S,
    GONE,
    LIVE,
    NO_NEW_WORK,
    NOT_FOUND,
    OPERATOR_TRANSITIONS,
    TAKES_WORK,
    Clock,
    _check_registration,
    _check_seconds,
    _columns,
    _commands,
    _event,
    _next_check,
    agent_from_row,
    effective_status,
    log,
)
from openintent.server.services.agents.transitions import AgentTransitions
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.store.agents_tables import AgentEventRow, AgentRow
from openintent.server.store.database import Database, dump_json, load_json

__all__ = ["AgentService"]


class AgentService(AgentTransitions):
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock  # tests substitute a fake clock for long thresholds

    async def get(self, agent_id: str) -> AgentRecord:
        rows = await AgentRow.select().where(AgentRow.agent_id == agent_id).limit(1)
        if not rows:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return self._view(rows[0], self.clock())

    async def find(
        self,
        *,
        statuses: Iterable[AgentStatus] = (),
        role_id: str | None = None,
        capabilities: Iterable[str] = (),
        min_available_capacity: int | None = None,
    ) -> list[AgentRecord]:
        """Every agent by default (as the reference); filters combine with AND,
        ``capabilities`` matches agents having any of them, ``min_available_capacity``
        only agents that take work (``active``, ``unhealthy``)."""
        query = AgentRow.select().order_by(AgentRow.registered_at).order_by(AgentRow.agent_id)
        if role_id is not None:
            query = query.where(AgentRow.role_id == role_id)
        now = self.clock()
        wanted, caps = frozenset(statuses), frozenset(capabilities)
        found = []
        for row in await query:
            record = self._view(row, now)
            if wanted and record.status not in wanted:
                continue
            if caps and not caps & set(record.capabilities):
                continue
            if min_available_capacity is not None:
                # Only agents that take work have capacity to offer (RFC-0016 pools).
                available = record.available_capacity if record.status in TAKES_WORK else 0
                if available < min_available_capacity:
                    continue
            found.append(record)
        return found

    async def events(self, agent_id: str, *, limit: int = 100, offset: int = 0) -> list[AgentEvent]:
        """The agent's lifecycle log, newest first (as intent logs are served)."""
        if not await AgentRow.exists().where(AgentRow.agent_id == agent_id):
            raise NotFoundError(NOT_FOUND, status_code=404)
        rows = (
            await AgentEventRow.select()
            .where(AgentEventRow.agent_id == agent_id)
            .order_by(AgentEventRow.seq, ascending=False)
            .limit(limit)
            .offset(offset)
        )
        return [_event(row) for row in rows]

    async def register(
        self, principal: Principal, req: AgentRegisterRequest, *, refuse_live: bool = False
    ) -> tuple[AgentRecord, bool]:
        """Create or re-register; returns the record and whether it is new."""
        _check_registration(req, id_required=not refuse_live)
        agent_id = req.agent_id or f"agent_{uuid.uuid4().hex}"
        now = self.clock()
        values: dict[str, Any] = {
            "status": _S.ACTIVE.value,
            "role_id": req.role_id,
            "name": req.name,
            "capabilities": dump_json(list(req.capabilities)),
            "capacity": None if req.capacity is None else dump_json(to_dict(req.capacity)),
            "endpoint": req.endpoint,
            "heartbeat_config": None
            if req.heartbeat_config is None
            else dump_json(to_dict(req.heartbeat_config)),
            "metadata": dump_json(req.metadata),
            "registered_at": now,
            "registered_by": principal.key,
            "last_heartbeat_at": None,
            "drain_timeout_seconds": req.drain_timeout_seconds,
            "drain_started_at": None,
            "status_changed_at": now,
        }
        values["next_check_at"] = _next_check(values)
        announced: dict[str, Any] = {
            "agent_id": agent_id,
            "role_id": req.role_id,
            "capabilities": list(req.capabilities),
        }
        async with self.db.write():
            row = await self._lock(agent_id)
            # A concurrent first registration may insert between the read and ours: the
            # insert then does nothing and this becomes a re-registration of its row.
            if row is None and await AgentRow.insert(
                AgentRow(agent_id=agent_id, version=1, **values)
            ).on_conflict(action="DO NOTHING").returning(AgentRow.agent_id):
                previous: AgentStatus = _S.REGISTERING
                reason = "registered"
            else:
                row = row or await self._lock(agent_id)
                assert row is not None
                previous, _ = effective_status(row, now)
                if refuse_live and previous in LIVE:
                    raise ConflictError(
                        f"Agent {agent_id!r} is already registered and {previous.value}",
                        current_version=row["version"],
                        status_code=409,
                    )
                await AgentRow.update(
                    {**_columns(values), AgentRow.version: AgentRow.version + 1}
                ).where(AgentRow.agent_id == agent_id)
                announced["reregistered"] = True
                reason = "re_registered"
            await self._log(agent_id, EventType.AGENT_REGISTERED, principal.actor, announced, now)
            if previous != _S.ACTIVE:
                await self._log_transition(
                    agent_id, previous, _S.ACTIVE, reason, principal.actor, now
                )
            stored = await self._lock(agent_id)
        assert stored is not None
        return self._view(stored, now), previous == _S.REGISTERING

    async def heartbeat(
        self, principal: Principal, agent_id: str, beat: Heartbeat
    ) -> AgentHeartbeatResponse:
        if beat.status not in HEARTBEAT_STATUSES:
            raise invalid("status", "a heartbeat reports 'active' or 'draining'")
        integer("current_load", beat.current_load)
        now = self.clock()
        gone: AgentStatus | None = None
        commands: list[dict[str, Any]] = []
        async with self.db.write():
            row = await self._require_locked(agent_id)
            row = await self._settle(row, now)
            status = AgentStatus(row["status"])
            if status in GONE:
                gone = status  # the death found just now is committed, then 410
            else:
                values = {
                    "last_heartbeat_at": now,
                    "capacity": dump_json(merge_heartbeat(load_json(row["capacity"]), beat)),
                }
                target, reason = status, None
                if status == _S.UNHEALTHY:
                    target, reason = _S.ACTIVE, "heartbeat_resumed"
                if beat.status == _S.DRAINING and status in (_S.ACTIVE, _S.UNHEALTHY):
                    target, reason = _S.DRAINING, "drain_initiated"
                elif (
                    status == _S.DRAINING and beat.current_load == 0 and not beat.tasks_in_progress
                ):
                    target, reason = _S.DEREGISTERED, "drain_completed"
                if target != status:
                    assert reason is not None
                    row = await self._transition(row, target, reason, principal.actor, now, values)
                else:
                    row = await self._update(row, values)
                commands = _commands(row)
        if gone is not None:
            raise GoneError(
                f"Agent {agent_id!r} is {gone.value}; register it again to resume",
                status_code=410,
            )
        record = agent_from_row(row)
        config = record.heartbeat_config or HeartbeatConfig()
        if beat.clock_drift_exceeded(now, config):
            log.warning(
                "agent %s: heartbeat clock differs from the server's by over 2 intervals", agent_id
            )
        return AgentHeartbeatResponse(
            server_timestamp=now,
            next_heartbeat_at=now + dt.timedelta(seconds=config.interval_seconds),
            acknowledged=True,
            agent_status=record.status,
            pending_commands=commands,
        )

    async def set_status(
        self,
        principal: Principal,
        agent_id: str,
        req: AgentStatusUpdateRequest,
        if_match: int | None = None,
    ) -> AgentRecord:
        _check_seconds("drain_timeout_seconds", req.drain_timeout_seconds, low=0)
        now = self.clock()
        async with self.db.write():
            row = await self._require_locked(agent_id)
            if if_match is not None and row["version"] != if_match:
                raise ConflictError(
                    "Version conflict", current_version=row["version"], status_code=409
                )
            row = await self._settle(row, now)
            current, target = AgentStatus(row["status"]), req.status
            if target != current:
                if target not in OPERATOR_TRANSITIONS[current]:
                    raise ConflictError(
                        f"Cannot change agent status from {current.value} to {target.value}"
                        + (": register the agent again" if current in GONE else ""),
                        current_version=row["version"],
                        status_code=409,
                    )
                values: dict[str, Any] = {}
                if target == _S.DRAINING and req.drain_timeout_seconds is not None:
                    values["drain_timeout_seconds"] = req.drain_timeout_seconds
                row = await self._transition(
                    row, target, _OPERATOR_REASONS[target], principal.actor, now, values
                )
        return self._view(row, now)

    async def deregister(self, principal: Principal, agent_id: str) -> AgentRecord:
        return await self.set_status(
            principal, agent_id, AgentStatusUpdateRequest(status=_S.DEREGISTERED)
        )

    async def sweep(self, limit: int = 200) -> int:
        """Write the health and drain transitions that are due; returns how many."""
        now = self.clock()
        due = (
            await AgentRow.select(AgentRow.agent_id)
            .where(AgentRow.next_check_at.is_not_null() & (AgentRow.next_check_at <= now))
            .order_by(AgentRow.next_check_at)
            .limit(limit)
        )
        changed = 0
        for item in due:
            async with self.db.write():
                row = await self._lock(item["agent_id"])
                if row is None:
                    continue
                settled = await self._settle(row, now)
                if settled["status"] != row["status"]:
                    changed += 1
                elif (check := _next_check(row)) != row["next_check_at"]:
                    await self._update(row, {"next_check_at": check})
        return changed

    async def guard(self, attempt: WriteAttempt) -> None:
        """No new assignments for draining, dead or deregistered agents."""
        if attempt.action != "assign" or not attempt.agent_id:
            return
        rows = await AgentRow.select().where(AgentRow.agent_id == attempt.agent_id).limit(1)
        if not rows:
            return  # unregistered agents can be assigned, as in the reference
        status, _ = effective_status(rows[0], self.clock())
        if status in NO_NEW_WORK:
            raise ConflictError(
                f"Agent {attempt.agent_id!r} is {status.value} and takes no new assignments",
                status_code=409,
            )
