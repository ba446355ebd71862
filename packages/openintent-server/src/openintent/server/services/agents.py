"""RFC-0016 rules: the agent registry, heartbeats, health, drain and deregistration.

Status in force. The stored ``status`` is the last one written; what every read
reports, and what every rule acts on, is derived from it and the silence since the
last heartbeat (or since registration, before the first one): past
``unhealthy_after_seconds`` an active agent is ``unhealthy``, past ``dead_after_seconds``
any live agent is ``dead`` (thresholds from its ``heartbeat_config``, RFC defaults
30/90/300 s). The scheduler's :meth:`AgentService.sweep` writes those transitions with
their events soon after they happen; any write on the agent writes them first.

Transitions (each one writes ``agent.lifecycle`` ``{agent_id, previous_status,
new_status, reason, timestamp}`` on the agent's log, plus ``agent.dead`` on death):

* registration: ``registering -> active`` (also ``agent.registered``). Registering an
  id again (``POST /agents/register``) replaces the record's fields and makes it
  ``active`` again, whatever its status; ``POST /agents`` (the RFC's endpoint) answers
  409 for an agent that is still live instead.
* heartbeat: ``unhealthy -> active`` (``heartbeat_resumed``); a heartbeat saying
  ``draining`` starts a drain; while draining, a heartbeat reporting no load and no
  tasks completes it (``draining -> deregistered``). Heartbeats of ``dead`` or
  ``deregistered`` agents are refused with 410.
* ``PATCH …/status`` (operator): ``draining`` (optional ``drain_timeout_seconds``),
  ``dead``, ``deregistered``, or ``active`` to cancel a drain. Health states are
  derived, never set; other changes are 409. ``If-Match`` is honoured when sent.
* drain timeout: at ``drain_started_at + drain_timeout_seconds`` a draining agent is
  ``deregistered``, or ``dead`` if it still reported work and has gone silent.

A draining, dead or deregistered agent takes no new assignments (write guard on
``assign``, 409). Agents that never registered can still be assigned, as in the
reference. ``version`` increases on every registration and status change (heartbeats
are liveness data and leave it alone, so an operator's ``If-Match`` stays valid).

Per-agent writes lock the agent's row (``FOR UPDATE`` on PostgreSQL; SQLite writes are
serial), so a heartbeat and a sweep in two processes cannot both act on a stale read.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from openintent.core.converter import structure, to_dict, to_wire, utcnow
from openintent.exceptions import ConflictError, GoneError, NotFoundError
from openintent.models import (
    AgentCapacity,
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
from openintent.server import channels
from openintent.server.services import Services
from openintent.server.services._checks import integer, invalid, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.store.agents_tables import AGENT_INDEXES, AgentEventRow, AgentRow
from openintent.server.store.database import Database, current_unit, dump_json, load_json
from openintent.server.store.schema import register_tables

__all__ = ["AgentService", "Clock", "agent_from_row", "install"]

register_tables([AgentRow, AgentEventRow], indexes=AGENT_INDEXES)

log = logging.getLogger("openintent.server.agents")

Clock = Callable[[], dt.datetime]

_S = AgentStatus
LIVE = frozenset({_S.ACTIVE, _S.UNHEALTHY, _S.DRAINING})
GONE = frozenset({_S.DEAD, _S.DEREGISTERED})
NO_NEW_WORK = frozenset({_S.DRAINING, _S.DEAD, _S.DEREGISTERED})
TAKES_WORK = frozenset({_S.ACTIVE, _S.UNHEALTHY})
#: What ``PATCH …/status`` may set, by the status in force.
OPERATOR_TRANSITIONS: dict[AgentStatus, frozenset[AgentStatus]] = {
    _S.REGISTERING: frozenset({_S.ACTIVE, _S.DEREGISTERED}),
    _S.ACTIVE: frozenset({_S.DRAINING, _S.DEAD, _S.DEREGISTERED}),
    _S.UNHEALTHY: frozenset({_S.DRAINING, _S.DEAD, _S.DEREGISTERED}),
    _S.DRAINING: frozenset({_S.ACTIVE, _S.DEAD, _S.DEREGISTERED}),
    _S.DEAD: frozenset({_S.DEREGISTERED}),
    _S.DEREGISTERED: frozenset(),
}
_OPERATOR_REASONS = {
    _S.ACTIVE: "drain_cancelled",
    _S.DRAINING: "drain_initiated",
    _S.DEAD: "marked_dead",
    _S.DEREGISTERED: "deregistered",
}
MAX_SECONDS = 365 * 24 * 3600
NOT_FOUND = "Agent not found"
SYSTEM = "system"
# Thresholds are "more than N seconds of silence"; checks are scheduled just past them.
_JUST_PAST = dt.timedelta(milliseconds=1)
_DEFAULTS = HeartbeatConfig()


def agent_from_row(row: dict[str, Any]) -> AgentRecord:
    """The record as stored (``status`` is the last one written, not derived)."""
    capacity = load_json(row["capacity"])
    config = load_json(row["heartbeat_config"])
    return AgentRecord(
        agent_id=row["agent_id"],
        status=AgentStatus(row["status"]),
        role_id=row["role_id"],
        name=row["name"],
        capabilities=load_json(row["capabilities"], []),
        capacity=None if capacity is None else structure(capacity, AgentCapacity),
        endpoint=row["endpoint"],
        heartbeat_config=None if config is None else structure(config, HeartbeatConfig),
        metadata=load_json(row["metadata"], {}),
        registered_at=row["registered_at"],
        last_heartbeat_at=row["last_heartbeat_at"],
        drain_timeout_seconds=row["drain_timeout_seconds"],
        version=row["version"],
    )


def _holds_work(row: dict[str, Any]) -> bool:
    capacity = load_json(row["capacity"]) or {}
    return bool(capacity.get("current_load")) or bool(capacity.get("tasks_in_progress"))


def _drain_deadline(row: dict[str, Any]) -> dt.datetime | None:
    started: dt.datetime | None = row["drain_started_at"]
    timeout: int | None = row["drain_timeout_seconds"]
    if started is None or timeout is None:
        return None
    return started + dt.timedelta(seconds=timeout)


def effective_status(row: dict[str, Any], now: dt.datetime) -> tuple[AgentStatus, str | None]:
    """The status in force at ``now`` and, when it differs from the stored one, why."""
    record = agent_from_row(row)
    stored = record.status
    derived = record.health(now)
    if derived != stored:
        return derived, "heartbeat_timeout" if derived in (
            _S.UNHEALTHY,
            _S.DEAD,
        ) else "heartbeat_resumed"
    deadline = _drain_deadline(row)
    if stored == _S.DRAINING and deadline is not None and now >= deadline:
        config = record.heartbeat_config or HeartbeatConfig()
        since = record.last_heartbeat_at or record.registered_at or now
        silent = (now - since).total_seconds() > config.unhealthy_after_seconds
        return (_S.DEAD if silent and _holds_work(row) else _S.DEREGISTERED), "drain_timeout"
    return stored, None


def _next_check(row: dict[str, Any]) -> dt.datetime | None:
    """When the derived status of ``row`` can next change (``None``: only by a write)."""
    status = AgentStatus(row["status"])
    if status not in LIVE:
        return None
    config = load_json(row["heartbeat_config"]) or {}
    unhealthy = config.get("unhealthy_after_seconds", _DEFAULTS.unhealthy_after_seconds)
    dead = config.get("dead_after_seconds", _DEFAULTS.dead_after_seconds)
    base: dt.datetime = row["last_heartbeat_at"] or row["registered_at"]
    if status == _S.ACTIVE:
        return base + dt.timedelta(seconds=unhealthy) + _JUST_PAST
    due = base + dt.timedelta(seconds=dead) + _JUST_PAST
    deadline = _drain_deadline(row) if status == _S.DRAINING else None
    return min(due, deadline) if deadline is not None else due


def _check_seconds(field: str, value: int | None, low: int = 1) -> None:
    integer(field, value, low=low, high=MAX_SECONDS)


def _check_registration(req: AgentRegisterRequest, *, id_required: bool) -> None:
    if req.agent_id is None:
        if id_required:
            raise invalid("agent_id", "Field required")
    else:
        text("agent_id", req.agent_id, required=True)
        if len(req.agent_id) > 255 or "/" in req.agent_id:
            raise invalid("agent_id", "must be at most 255 characters, without '/'")
    text("role_id", req.role_id)
    if req.role_id is not None and len(req.role_id) > 255:
        raise invalid("role_id", "must be at most 255 characters")
    if req.capacity is not None:
        integer("capacity.max_concurrent_tasks", req.capacity.max_concurrent_tasks)
        integer("capacity.current_load", req.capacity.current_load)
    if (cfg := req.heartbeat_config) is not None:
        _check_seconds("heartbeat_config.interval_seconds", cfg.interval_seconds)
        _check_seconds("heartbeat_config.unhealthy_after_seconds", cfg.unhealthy_after_seconds)
        _check_seconds("heartbeat_config.dead_after_seconds", cfg.dead_after_seconds)
        if cfg.dead_after_seconds < cfg.unhealthy_after_seconds:
            raise invalid(
                "heartbeat_config.dead_after_seconds",
                "must not be less than unhealthy_after_seconds",
            )
    _check_seconds("drain_timeout_seconds", req.drain_timeout_seconds, low=0)


class AgentService:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self.db = db
        self.clock = clock  # tests substitute a fake clock for long thresholds

    # -- reads ------------------------------------------------------------------------

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

    # -- writes -----------------------------------------------------------------------

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

    # -- the write guard --------------------------------------------------------------

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

    # -- helpers ----------------------------------------------------------------------

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
            id=str(uuid.uuid4()),
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


def _commands(row: dict[str, Any]) -> list[dict[str, Any]]:
    """What the agent should do, told in its heartbeat reply."""
    status = AgentStatus(row["status"])
    if status == _S.DRAINING:
        deadline = _drain_deadline(row)
        return [
            {
                "command": "drain",
                "drain_timeout_seconds": row["drain_timeout_seconds"],
                "deadline": _iso(deadline),
            }
        ]
    if status in GONE:
        return [{"command": "stop", "reason": status.value}]
    return []


def _columns(values: dict[str, Any]) -> dict[Any, Any]:
    return {getattr(AgentRow, name): value for name, value in values.items()}


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _event(row: dict[str, Any]) -> AgentEvent:
    raw = row["event_type"]
    try:
        kind: EventType | str = EventType(raw)
    except ValueError:
        kind = raw
    return AgentEvent(
        id=row["id"],
        agent_id=row["agent_id"],
        event_type=kind,
        actor=row["actor"],
        payload=load_json(row["payload"], {}),
        created_at=row["created_at"],
    )


def install(services: Services) -> None:
    service = AgentService(services.db)
    services.add("agents", service)
    services.intents.guards.append(service.guard)
