"""Agent records: status groups and the operator's transition table, a stored row as
the wire ``AgentRecord``, the status in force at a given time, and the pure checks."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from openintent.core.converter import structure
from openintent.models import (
    AgentCapacity,
    AgentEvent,
    AgentRecord,
    AgentRegisterRequest,
    AgentStatus,
    EventType,
    HeartbeatConfig,
)
from openintent.server.services._checks import integer, invalid, text
from openintent.server.store.agents_tables import AGENT_INDEXES, AgentEventRow, AgentRow
from openintent.server.store.database import load_json
from openintent.server.store.schema import register_tables

__all__ = [
    "GONE",
    "LIVE",
    "MAX_SECONDS",
    "NOT_FOUND",
    "NO_NEW_WORK",
    "OPERATOR_TRANSITIONS",
    "SYSTEM",
    "TAKES_WORK",
    "Clock",
    "agent_from_row",
    "effective_status",
]

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
