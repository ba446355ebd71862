"""The life of a coordinator lease: acquisition (with failover of a dead holder),
heartbeats, updates, pause / resume / release / handoff.

Exclusivity. One coordinator per intent (or per portfolio): a lease holds the slot
``intent:<id>`` while ``active = 1``, and a unique partial index admits one such row
(``store/coordinators_tables.py``). A second acquisition is 409 with the holder as
``existing_lease`` (the word "lease" in the body, so the reference client raises its
``LeaseConflictError``). Leases without an intent or portfolio coordinate nothing and
never conflict.

Liveness. Every heartbeat stores ``unresponsive_at`` (two intervals later) and
``dead_at`` (three intervals later, or ``expires_at`` if sooner). Compared with the
clock on every read and write: past ``unresponsive_at`` a lease reads ``unresponsive``;
past ``dead_at`` it cannot heartbeat (409) and another coordinator may take the slot:
the acquisition retires it in the same transaction (status ``failed_over``, or
``completed`` when ``expires_at`` ran out) and logs ``coordinator.failed_over``.
``status`` otherwise follows pause / resume / release / handoff / replace.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import to_wire, unstructure
from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError
from openintent.models import (
    CoordinatorActionRequest,
    CoordinatorHandoffRequest,
    CoordinatorHeartbeatRequest,
    CoordinatorHeartbeatResponse,
    CoordinatorLease,
    CoordinatorLeaseCreateRequest,
    CoordinatorScope,
    CoordinatorStatus,
    CoordinatorUpdateRequest,
    EventType,
    Guardrails,
    Permission,
)
from openintent.models._wire_hooks import given_keys
from openintent.server.ids import new_id
from openintent.server.services import idempotency
from openintent.server.services._checks import finite, integer, text
from openintent.server.services.coordinators.records import (
    _C,
    HELD,
    HELD_PORTFOLIO,
    MAX_INTERVAL,
    L,
    Row,
    _check_lease_texts,
    _deadlines,
    _dump_guardrails,
    _invalid,
    _keys,
    _slot,
    lease_from_row,
    status_at,
)
from openintent.server.services.principal import Principal
from openintent.server.services.tasks_common import announce, check_version
from openintent.server.store.database import dump_json, load_json

__all__ = ["LeaseLifecycle"]


class LeaseLifecycle:
    """Lease writes (mixed into ``CoordinatorService``)."""

    async def create(
        self,
        principal: Principal,
        req: CoordinatorLeaseCreateRequest,
        idempotency_key: str | None = None,
    ) -> CoordinatorLease:
        _check_lease_texts(req)
        integer(
            "heartbeat_interval_seconds", req.heartbeat_interval_seconds, low=1, high=MAX_INTERVAL
        )
        if req.scope == CoordinatorScope.PORTFOLIO and req.portfolio_id is None:
            raise _invalid("portfolio_id", "a portfolio-scoped coordinator needs portfolio_id")
        self._check_future(req.expires_at)
        async with self.db.write():
            key = idempotency.scoped_key(principal, "coordinator_lease", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return CoordinatorLease.from_dict(stored)
            slot = await self._enter_slot(principal, req.intent_id, req.portfolio_id)
            row = await self._acquire(
                slot,
                agent_id=req.agent_id,
                intent_id=req.intent_id,
                portfolio_id=req.portfolio_id,
                role=req.role,
                supervisor_id=req.supervisor_id,
                coordinator_type=req.coordinator_type.value,
                scope=req.scope.value,
                guardrails=_dump_guardrails(req.guardrails),
                heartbeat_interval_seconds=req.heartbeat_interval_seconds,
                expires_at=req.expires_at,
                metadata_json=dump_json(req.metadata),
            )
            lease = lease_from_row(row, self.clock())
            if idempotency_key:
                await idempotency.record(key, to_wire(lease))
        return lease

    async def heartbeat(
        self, principal: Principal, lease_id: str, req: CoordinatorHeartbeatRequest
    ) -> CoordinatorHeartbeatResponse:
        text("status_summary", req.status_summary)
        if req.budget_used_usd is not None:
            finite("budget_used_usd", req.budget_used_usd)
        for name in ("active_tasks", "pending_decisions"):
            integer(name, getattr(req, name))
        report = unstructure(req) if given_keys(req) else None
        async with self.db.write():
            row = await self._row(lease_id)
            await self._authorize(principal, row, Permission.WRITE)
            now = self.clock()
            self._require_live(row, now)
            unresponsive, dead = _deadlines(
                now, row["heartbeat_interval_seconds"], row["expires_at"]
            )
            values: dict[Any, Any] = {
                L.last_heartbeat: now,
                L.unresponsive_at: unresponsive,
                L.dead_at: dead,
            }
            if report is not None:
                values[L.last_report] = dump_json(report)
            rows = (
                await L.update(values)
                .where((L.id == lease_id) & (L.active == 1) & (L.dead_at > now))
                .returning(L.heartbeat_interval_seconds)
            )
            if not rows:
                self._require_live(await self._row(lease_id), now)
        return CoordinatorHeartbeatResponse(
            next_heartbeat_at=now + dt.timedelta(seconds=row["heartbeat_interval_seconds"])
        )

    async def update(
        self, principal: Principal, lease_id: str, if_match: int, req: CoordinatorUpdateRequest
    ) -> CoordinatorLease:
        """``PATCH``: the keys sent change; guardrail changes are logged."""
        sent = given_keys(req) or frozenset()
        for name in ("role", "supervisor_id"):
            text(name, getattr(req, name))
        integer(
            "heartbeat_interval_seconds", req.heartbeat_interval_seconds, low=1, high=MAX_INTERVAL
        )
        self._check_future(req.expires_at)
        async with self.db.write():
            row, _ = await self._load_live(principal, lease_id)
            check_version(if_match, row["version"])
            values: dict[str, Any] = {}
            if "role" in sent and req.role is not None:
                values["role"] = req.role
            if "supervisor_id" in sent:
                values["supervisor_id"] = req.supervisor_id
            if req.heartbeat_interval_seconds is not None:
                values["heartbeat_interval_seconds"] = req.heartbeat_interval_seconds
            if "expires_at" in sent:
                values["expires_at"] = req.expires_at
            if req.metadata is not None:
                values["metadata_json"] = dump_json(req.metadata)
            if "guardrails" in sent:
                values["guardrails"] = _dump_guardrails(req.guardrails)
            values |= self._liveness(row, values)
            row = await self._cas(row, values)
            if "guardrails" in sent:
                await self._log_guardrails(principal, row, sorted(set(_keys(req.guardrails))))
        return lease_from_row(row, self.clock())

    async def update_guardrails(
        self, principal: Principal, lease_id: str, if_match: int | None, patch: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge ``patch`` into the guardrails (a ``null`` value removes a key)."""
        async with self.db.write():
            row, _ = await self._load_live(principal, lease_id)
            check_version(if_match, row["version"])
            merged = dict(load_json(row["guardrails"]) or {})
            for key, value in patch.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            guardrails = Guardrails.from_dict(merged)
            row = await self._cas(row, {"guardrails": _dump_guardrails(guardrails)})
            await self._log_guardrails(principal, row, sorted(patch))
        return load_json(row["guardrails"]) or {}

    async def pause(
        self,
        principal: Principal,
        lease_id: str,
        if_match: int | None,
        req: CoordinatorActionRequest,
    ) -> CoordinatorLease:
        return await self._set_status(principal, lease_id, if_match, _C.PAUSED, req.reason)

    async def resume(
        self,
        principal: Principal,
        lease_id: str,
        if_match: int | None,
        req: CoordinatorActionRequest,
    ) -> CoordinatorLease:
        return await self._set_status(principal, lease_id, if_match, _C.ACTIVE, req.reason)

    async def release(
        self, principal: Principal, lease_id: str, if_match: int | None
    ) -> CoordinatorLease:
        """The coordinator steps down: the slot is free at once."""
        async with self.db.write():
            row = await self._row(lease_id)
            await self._enter_lease(principal, row)
            row = await self._row(lease_id)
            check_version(if_match, row["version"])
            if row["active"]:
                row = await self._cas(
                    row, {"active": 0, "status": _C.COMPLETED.value, "ended_at": self.clock()}
                )
        return lease_from_row(row, self.clock())

    async def release_current(self, principal: Principal, intent_id: str) -> CoordinatorLease:
        await self.intents.require(intent_id)
        rows = await L.select(L.id).where((L.slot == _slot(intent_id, None)) & (L.active == 1))
        if not rows:
            raise NotFoundError("No active coordinator for this intent", status_code=404)
        return await self.release(principal, rows[0]["id"], None)

    async def handoff(
        self,
        principal: Principal,
        lease_id: str,
        if_match: int | None,
        req: CoordinatorHandoffRequest,
        *,
        replace: bool = False,
    ) -> CoordinatorLease:
        """Hand the slot to ``agent_id`` (``replace``: a supervisor's decision, which also
        works on an unresponsive coordinator); the new lease inherits the terms."""
        text("agent_id", req.agent_id, required=True)
        text("reason", req.reason)
        async with self.db.write():
            row = await self._row(lease_id)
            await self._enter_lease(principal, row)
            row = await self._row(lease_id)
            now = self.clock()
            check_version(if_match, row["version"])
            if replace:
                if not row["active"]:
                    raise self._not_live(row, now)
            else:
                self._require_live(row, now)
            was = status_at(row, now)
            ended = _C.FAILED_OVER if replace and was == _C.UNRESPONSIVE else _C.COMPLETED
            await self._cas(row, {"active": 0, "status": ended.value, "ended_at": now})
            new = await self._acquire(
                row["slot"],
                agent_id=req.agent_id,
                intent_id=row["intent_id"],
                portfolio_id=row["portfolio_id"],
                role=row["role"],
                supervisor_id=row["supervisor_id"],
                coordinator_type=row["coordinator_type"],
                scope=row["scope"],
                guardrails=row["guardrails"],
                heartbeat_interval_seconds=row["heartbeat_interval_seconds"],
                expires_at=row["expires_at"],
                metadata_json=row["metadata_json"],
            )
            if row["intent_id"] is not None:
                await announce(
                    self.db,
                    row["intent_id"],
                    EventType.COORDINATOR_REPLACED if replace else EventType.COORDINATOR_HANDOFF,
                    principal.actor,
                    {
                        "from_lease_id": row["id"],
                        "to_lease_id": new["id"],
                        "from_agent_id": row["agent_id"],
                        "to_agent_id": req.agent_id,
                        "reason": req.reason,
                        "state_summary": req.state_summary,
                    },
                )
        return lease_from_row(new, self.clock())

    async def _acquire(self, slot: str | None, **columns: Any) -> Row:
        """Retire the slot's dead lease, then take the slot (one insert) or answer 409."""
        now = self.clock()
        retired: list[Row] = []
        if slot is not None:
            for status, lapsed in ((_C.COMPLETED, True), (_C.FAILED_OVER, False)):
                where = (L.slot == slot) & (L.active == 1) & (L.dead_at <= now)
                if lapsed:
                    where &= L.expires_at.is_not_null() & (L.expires_at <= now)
                retired += (
                    await L.update({L.active: 0, L.status: status.value, L.ended_at: now})
                    .where(where)
                    .returning(*L.all_columns())
                )
        lease_id = new_id()
        unresponsive, dead = _deadlines(
            now, columns["heartbeat_interval_seconds"], columns["expires_at"]
        )
        inserted = (
            await L.insert(
                L(
                    id=lease_id,
                    slot=slot,
                    status=_C.ACTIVE.value,
                    active=1,
                    granted_at=now,
                    last_heartbeat=None,
                    unresponsive_at=unresponsive,
                    dead_at=dead,
                    version=1,
                    failures_escalated=0,
                    **columns,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(L.id)
        )
        if not inserted:
            holders = await L.select().where((L.slot == slot) & (L.active == 1))
            raise LeaseConflictError(
                HELD if (slot or "").startswith("intent:") else HELD_PORTFOLIO,
                existing_lease=to_wire(lease_from_row(holders[0], now)) if holders else None,
                status_code=409,
            )
        row = await self._row(lease_id)
        for old in retired:
            if old["intent_id"] is None:
                continue
            await announce(
                self.db,
                old["intent_id"],
                EventType.COORDINATOR_FAILED_OVER,
                row["agent_id"],
                {
                    "from_lease_id": old["id"],
                    "to_lease_id": row["id"],
                    "from_agent_id": old["agent_id"],
                    "to_agent_id": row["agent_id"],
                    "reason": "lease_expired"
                    if old["status"] == _C.COMPLETED.value
                    else "heartbeat_timeout",
                    "last_heartbeat": (old["last_heartbeat"] or old["granted_at"]).isoformat(),
                },
            )
        return row

    async def _set_status(
        self,
        principal: Principal,
        lease_id: str,
        if_match: int | None,
        target: CoordinatorStatus,
        reason: str | None,
    ) -> CoordinatorLease:
        text("reason", reason)
        async with self.db.write():
            row, _ = await self._load_live(principal, lease_id)
            check_version(if_match, row["version"])
            if row["status"] == target.value:
                raise ConflictError(
                    f"Coordinator is already {target.value}",
                    current_version=row["version"],
                    status_code=409,
                )
            row = await self._cas(row, {"status": target.value})
            if row["intent_id"] is not None:
                event = (
                    EventType.COORDINATOR_PAUSED
                    if target == _C.PAUSED
                    else EventType.COORDINATOR_RESUMED
                )
                await announce(
                    self.db,
                    row["intent_id"],
                    event,
                    principal.actor,
                    {"lease_id": row["id"], "agent_id": row["agent_id"], "reason": reason},
                )
        return lease_from_row(row, self.clock())

    async def _log_guardrails(self, principal: Principal, row: Row, changed: list[str]) -> None:
        if row["intent_id"] is None:
            return
        await announce(
            self.db,
            row["intent_id"],
            EventType.COORDINATOR_GUARDRAILS_UPDATED,
            principal.actor,
            {
                "lease_id": row["id"],
                "guardrails": load_json(row["guardrails"]),
                "changed": changed,
            },
        )

    def _liveness(self, row: Row, values: dict[str, Any]) -> dict[str, Any]:
        """Deadlines after a change of interval or expiry, from the last sign of life."""
        if "heartbeat_interval_seconds" not in values and "expires_at" not in values:
            return {}
        interval = int(
            values.get("heartbeat_interval_seconds") or row["heartbeat_interval_seconds"]
        )
        expires_at = values.get("expires_at", row["expires_at"])
        unresponsive, dead = _deadlines(
            row["last_heartbeat"] or row["granted_at"], interval, expires_at
        )
        return {"unresponsive_at": unresponsive, "dead_at": dead}

    def _require_live(self, row: Row, now: dt.datetime) -> None:
        if not row["active"] or now >= row["dead_at"]:
            raise self._not_live(row, now)

    @staticmethod
    def _not_live(row: Row, now: dt.datetime) -> LeaseConflictError:
        return LeaseConflictError(
            f"Coordinator lease is no longer active (status '{status_at(row, now).value}'); "
            "acquire a new lease",
            status_code=409,
        )

    def _check_future(self, expires_at: dt.datetime | None) -> None:
        if expires_at is not None and expires_at <= self.clock():
            raise _invalid("expires_at", "must be in the future")
