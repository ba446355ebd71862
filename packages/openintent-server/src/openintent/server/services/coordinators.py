"""RFC-0013 rules: coordinator leases, liveness and failover, decision records, guardrails.

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

Guardrails are stored verbatim and enforced where they name a checkable rule, for the
live coordinator of an intent:

* ``max_budget_usd``: cost records (RFC-0009, units ``usd`` and ``cents``) are summed
  under the intent's lock. The record that crosses the budget is stored, then
  ``on_exceed`` applies: ``pause`` pauses the coordinator (``coordinator.paused``),
  ``escalate`` files an escalation, ``pause_and_escalate`` both, and ``fail`` refuses
  the record itself (403 ``guardrail_violation``). While the spend exceeds the budget,
  new work (claiming/starting tasks, activating/resuming plans) is refused (403).
* ``max_concurrent_tasks``: claimed + running tasks of the intent.
* ``max_tasks_per_plan``, ``allowed_capabilities``, ``max_delegation_depth``: checked
  when plans and tasks are written.
* ``auto_escalate_after_failures``: when the intent's recorded failures (RFC-0010,
  task failures included) reach it, an escalation is filed (once per lease) and
  ``task.escalated`` logged.

A paused coordinator holds new work too (409). Refusals carry
``{"detail": {"error": "guardrail_violation", "rule", "message"}}``.

Decision records (``POST /api/v1/decisions``) are append-only, need an existing intent,
log ``coordinator.decision``, and are what ``GET /intents/{id}/decisions`` (governance
area) and ``…/coordinator-decisions`` list.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from piccolo.query.functions.aggregate import Sum

from openintent.core.converter import to_wire, unstructure, utcnow
from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError, ValidationError
from openintent.models import (
    FAILOVER_AFTER_MISSED_HEARTBEATS,
    UNRESPONSIVE_AFTER_MISSED_HEARTBEATS,
    CoordinatorActionRequest,
    CoordinatorHandoffRequest,
    CoordinatorHeartbeatRequest,
    CoordinatorHeartbeatResponse,
    CoordinatorLease,
    CoordinatorLeaseCreateRequest,
    CoordinatorScope,
    CoordinatorStatus,
    CoordinatorUpdateRequest,
    DecisionRecord,
    DecisionRecordCreateRequest,
    EventType,
    GuardrailExceedAction,
    Guardrails,
    GuardrailStatus,
    Permission,
    TaskStatus,
)
from openintent.models._wire_hooks import given_keys
from openintent.server.services import Services
from openintent.server.services._checks import finite, integer, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.services.tasks_common import (
    Clock,
    Followups,
    announce,
    check_version,
    guardrail_violation,
    lock_intent,
)
from openintent.server.store import coordinators_tables
from openintent.server.store.coordinators_tables import CoordinatorLeaseRow, DecisionRecordRow
from openintent.server.store.costs_tables import CostRow
from openintent.server.store.database import dump_json, load_json
from openintent.server.store.portfolios_tables import PortfolioRow
from openintent.server.store.retry_tables import FailureRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tasks_tables import TaskRow

__all__ = ["CoordinatorService", "install", "lease_from_row", "spent_usd"]

register_tables(coordinators_tables.TABLES, indexes=coordinators_tables.INDEXES)

_C = CoordinatorStatus
MAX_INTERVAL = 30 * 24 * 3600
HELD = "Coordinator lease already held for this intent"
HELD_PORTFOLIO = "Coordinator lease already held for this portfolio"

Row = dict[str, Any]
L = CoordinatorLeaseRow


def status_at(row: Row, now: dt.datetime) -> CoordinatorStatus:
    """The lease's status at ``now``, from its stored status and liveness timestamps."""
    if not row["active"]:
        return _C(row["status"])
    if now >= row["dead_at"]:
        expired = row["expires_at"] is not None and now >= row["expires_at"]
        return _C.COMPLETED if expired else _C.UNRESPONSIVE
    if now >= row["unresponsive_at"]:
        return _C.UNRESPONSIVE
    return _C(row["status"])


def lease_from_row(row: Row, now: dt.datetime) -> CoordinatorLease:
    return CoordinatorLease.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "portfolio_id": row["portfolio_id"],
            "agent_id": row["agent_id"],
            "role": row["role"],
            "supervisor_id": row["supervisor_id"],
            "coordinator_type": row["coordinator_type"],
            "scope": row["scope"],
            "status": status_at(row, now).value,
            "guardrails": load_json(row["guardrails"]),
            "heartbeat_interval_seconds": row["heartbeat_interval_seconds"],
            "last_heartbeat": row["last_heartbeat"],
            "granted_at": row["granted_at"],
            "expires_at": row["expires_at"],
            "version": row["version"],
            "lease_metadata": load_json(row["metadata_json"], {}),
            "last_heartbeat_report": load_json(row["last_report"]),
        }
    )


def _deadlines(
    seen: dt.datetime, interval: int, expires_at: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    """``unresponsive_at`` and ``dead_at`` for a coordinator last heard of at ``seen``."""
    unresponsive = seen + dt.timedelta(seconds=interval * UNRESPONSIVE_AFTER_MISSED_HEARTBEATS)
    dead = seen + dt.timedelta(seconds=interval * FAILOVER_AFTER_MISSED_HEARTBEATS)
    if expires_at is not None:
        unresponsive, dead = min(unresponsive, expires_at), min(dead, expires_at)
    return unresponsive, dead


def _usd(amount: float, unit: str) -> float:
    """A cost in dollars; units other than ``usd`` and ``cents`` are not money."""
    unit = unit.strip().lower()
    if unit == "usd":
        return amount
    if unit == "cents":
        return amount / 100.0
    return 0.0


async def spent_usd(intent_id: str) -> float:
    rows = (
        await CostRow.select(CostRow.unit, Sum(CostRow.amount, alias="total"))
        .where(CostRow.intent_id == intent_id)
        .group_by(CostRow.unit)
    )
    return round(sum(_usd(float(r["total"] or 0.0), r["unit"]) for r in rows), 10)


def _decision(row: Row) -> DecisionRecord:
    return DecisionRecord.from_dict(
        {
            "id": row["id"],
            "coordinator_id": row["coordinator_id"],
            "intent_id": row["intent_id"],
            "decision_type": row["decision_type"],
            "summary": row["summary"],
            "rationale": row["rationale"],
            "alternatives_considered": load_json(row["alternatives_considered"], []),
            "confidence": row["confidence"],
            "timestamp": row["timestamp"],
        }
    )


class CoordinatorService:
    def __init__(self, services: Services) -> None:
        self.db = services.db
        self.intents = services.intents
        self.registry = services.registry
        self.clock: Clock = utcnow
        self.followups = Followups(services.registry)

    # -- reads ------------------------------------------------------------------------

    async def get(self, principal: Principal, lease_id: str) -> CoordinatorLease:
        row = await self._row(lease_id)
        await self._authorize(principal, row, Permission.READ)
        return lease_from_row(row, self.clock())

    async def of_intent(self, intent_id: str) -> list[CoordinatorLease]:
        """Every lease of the intent, oldest first (``[]`` for an unknown intent)."""
        rows = await L.select().where(L.intent_id == intent_id).order_by(L.seq)
        now = self.clock()
        return [lease_from_row(row, now) for row in rows]

    async def current(self, intent_id: str) -> CoordinatorLease:
        await self.intents.require(intent_id)
        row = await self.governing(intent_id)
        if row is None:
            raise NotFoundError("No active coordinator for this intent", status_code=404)
        return lease_from_row(row, self.clock())

    async def guardrails(self, principal: Principal, lease_id: str) -> dict[str, Any]:
        return (await self.get(principal, lease_id)).to_dict().get("guardrails") or {}

    async def guardrail_status(self, principal: Principal, lease_id: str) -> GuardrailStatus:
        row = await self._row(lease_id)
        await self._authorize(principal, row, Permission.READ)
        now = self.clock()
        g = _guardrails(row) or Guardrails()
        report = GuardrailStatus(lease_id=row["id"], intent_id=row["intent_id"], checked_at=now)
        report.status = status_at(row, now)
        report.max_budget_usd = g.max_budget_usd
        report.max_concurrent_tasks = g.max_concurrent_tasks
        report.auto_escalate_after_failures = g.auto_escalate_after_failures
        if row["intent_id"] is not None:
            intent_id = row["intent_id"]
            report.spent_usd = await spent_usd(intent_id)
            report.budget_state = g.budget_state(report.spent_usd)
            if g.max_budget_usd:
                report.budget_percentage = round(100 * report.spent_usd / g.max_budget_usd, 2)
            report.active_tasks = await self._active_tasks(intent_id)
            report.recorded_failures = await FailureRow.count().where(
                FailureRow.intent_id == intent_id
            )
        return report

    async def decision(self, principal: Principal, decision_id: str) -> DecisionRecord:
        rows = await DecisionRecordRow.select().where(DecisionRecordRow.id == decision_id)
        if not rows:
            raise NotFoundError("Decision record not found", status_code=404)
        access = self.registry.get("access")
        if access is not None:
            await access.authorize(principal, rows[0]["intent_id"], Permission.READ)
        return _decision(rows[0])

    async def decisions(self, intent_id: str, limit: int) -> list[DecisionRecord]:
        """Newest first, at most ``limit`` (no intent check, as the reference)."""
        rows = (
            await DecisionRecordRow.select()
            .where(DecisionRecordRow.intent_id == intent_id)
            .order_by(DecisionRecordRow.seq, ascending=False)
            .limit(limit)
        )
        return [_decision(row) for row in rows]

    # -- leases -----------------------------------------------------------------------

    async def create(
        self, principal: Principal, req: CoordinatorLeaseCreateRequest
    ) -> CoordinatorLease:
        _check_lease_texts(req)
        integer(
            "heartbeat_interval_seconds", req.heartbeat_interval_seconds, low=1, high=MAX_INTERVAL
        )
        if req.scope == CoordinatorScope.PORTFOLIO and req.portfolio_id is None:
            raise _invalid("portfolio_id", "a portfolio-scoped coordinator needs portfolio_id")
        self._check_future(req.expires_at)
        async with self.db.write():
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
        return lease_from_row(row, self.clock())

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

    # -- decision records -------------------------------------------------------------

    async def record_decision(
        self, principal: Principal, req: DecisionRecordCreateRequest
    ) -> DecisionRecord:
        for name in ("coordinator_id", "intent_id", "summary", "rationale"):
            text(name, getattr(req, name))
        if req.confidence is not None:
            finite("confidence", req.confidence)
        record = DecisionRecord(
            id=str(uuid.uuid4()),
            coordinator_id=req.coordinator_id,
            intent_id=req.intent_id,
            decision_type=req.decision_type,
            summary=req.summary,
            rationale=req.rationale,
            alternatives_considered=list(req.alternatives_considered),
            confidence=req.confidence,
            timestamp=self.clock(),
        )
        async with self.db.write():
            intent = await self.intents.get(req.intent_id)
            await self.intents.check(WriteAttempt(principal, intent, "decision"))
            await DecisionRecordRow.insert(
                DecisionRecordRow(
                    id=record.id,
                    coordinator_id=record.coordinator_id,
                    intent_id=record.intent_id,
                    decision_type=record.decision_type.value,
                    summary=record.summary,
                    rationale=record.rationale,
                    alternatives_considered=dump_json(record.alternatives_considered),
                    confidence=record.confidence,
                    timestamp=record.timestamp,
                )
            )
            await announce(
                self.db,
                record.intent_id,
                EventType.COORDINATOR_DECISION,
                record.coordinator_id,
                {
                    "decision_id": record.id,
                    "coordinator_id": record.coordinator_id,
                    "decision_type": record.decision_type.value,
                    "summary": record.summary,
                    "confidence": record.confidence,
                },
            )
        return record

    # -- guardrails, for the tasks area and cost writes -------------------------------

    async def governing(self, intent_id: str) -> Row | None:
        """The intent's live coordinator lease (unresponsive ones still govern)."""
        rows = await L.select().where(
            (L.slot == _slot(intent_id, None)) & (L.active == 1) & (L.dead_at > self.clock())
        )
        return rows[0] if rows else None

    async def supervisor_of(self, intent_id: str) -> str | None:
        row = await self.governing(intent_id)
        return None if row is None else row["supervisor_id"]

    async def check_work(self, intent_id: str, starting_task: str | None = None) -> None:
        """Refuse new work on an intent whose coordinator is paused or over its limits."""
        row = await self.governing(intent_id)
        if row is None:
            return
        if row["status"] == _C.PAUSED.value:
            raise ConflictError(
                f"The intent's coordinator {row['agent_id']} is paused; resume it first",
                status_code=409,
            )
        g = _guardrails(row)
        if g is None:
            return
        if g.max_budget_usd is not None:
            spent = await spent_usd(intent_id)
            if spent > g.max_budget_usd:
                raise guardrail_violation(
                    "max_budget_usd",
                    f"Guardrail max_budget_usd={g.max_budget_usd}: {spent} USD recorded; new "
                    "work waits until the budget is raised.",
                )
        if starting_task is not None:
            active = await self._active_tasks(intent_id, excluding=starting_task)
            if active >= g.max_concurrent_tasks:
                raise guardrail_violation(
                    "max_concurrent_tasks",
                    f"Guardrail max_concurrent_tasks={g.max_concurrent_tasks}: {active} tasks "
                    "are already claimed or running.",
                )

    async def check_plan_size(self, intent_id: str, count: int) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is not None and count > g.max_tasks_per_plan:
            raise guardrail_violation(
                "max_tasks_per_plan",
                f"Guardrail max_tasks_per_plan={g.max_tasks_per_plan}: the plan would have "
                f"{count} tasks.",
            )

    async def check_capabilities(self, intent_id: str, capabilities: list[str]) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is None:
            return
        refused = [c for c in capabilities if not g.allows_capability(c)]
        if refused:
            raise guardrail_violation(
                "allowed_capabilities",
                "Guardrail allowed_capabilities does not allow: " + ", ".join(refused),
            )

    async def check_delegation_depth(self, intent_id: str, depth: int) -> None:
        g = await self._governing_guardrails(intent_id)
        if g is not None and depth > g.max_delegation_depth:
            raise guardrail_violation(
                "max_delegation_depth",
                f"Guardrail max_delegation_depth={g.max_delegation_depth}: this sub-task "
                f"would be {depth} levels deep.",
            )

    async def after_failure(self, intent_id: str, task_id: str | None) -> None:
        """``auto_escalate_after_failures``: escalate once when the count reaches it."""
        row = await self.governing(intent_id)
        g = _guardrails(row) if row is not None else None
        if row is None or g is None or row["failures_escalated"]:
            return
        count = await FailureRow.count().where(FailureRow.intent_id == intent_id)
        if count < g.auto_escalate_after_failures:
            return
        await L.update({L.failures_escalated: count}).where(L.id == row["id"])
        reason = (
            f"{count} failures recorded; guardrail auto_escalate_after_failures="
            f"{g.auto_escalate_after_failures}"
        )
        await announce(
            self.db,
            intent_id,
            EventType.TASK_ESCALATED,
            row["agent_id"],
            {"task_id": task_id, "reason": reason, "escalated_to": row["supervisor_id"]},
        )
        self.followups.escalate(
            intent_id,
            row["agent_id"],
            reason,
            {
                "lease_id": row["id"],
                "guardrail": "auto_escalate_after_failures",
                "task_id": task_id,
            },
        )

    async def on_intent_write(self, attempt: WriteAttempt) -> None:
        """Cost writes against ``max_budget_usd`` (see the module docstring)."""
        if attempt.action != "cost":
            return
        intent_id = attempt.intent.id
        amount = _usd(float(attempt.extra.get("amount", 0.0)), str(attempt.extra.get("unit", "")))
        if amount <= 0:
            return
        await lock_intent(self.db, intent_id)
        row = await self.governing(intent_id)
        g = _guardrails(row) if row is not None else None
        if row is None or g is None or g.max_budget_usd is None:
            return
        spent = await spent_usd(intent_id)
        if spent + amount <= g.max_budget_usd:
            return
        if g.on_exceed == GuardrailExceedAction.FAIL:
            raise guardrail_violation(
                "max_budget_usd",
                f"Guardrail max_budget_usd={g.max_budget_usd}: {spent} USD recorded; adding "
                f"{amount} USD would exceed it.",
            )
        if spent > g.max_budget_usd:
            return  # crossed earlier; its consequences are in place
        reason = "guardrail:max_budget_usd"
        pausing = (GuardrailExceedAction.PAUSE, GuardrailExceedAction.PAUSE_AND_ESCALATE)
        if g.on_exceed in pausing and row["status"] == _C.ACTIVE.value:
            row = await self._cas(row, {"status": _C.PAUSED.value})
            await announce(
                self.db,
                intent_id,
                EventType.COORDINATOR_PAUSED,
                attempt.principal.actor,
                {
                    "lease_id": row["id"],
                    "agent_id": row["agent_id"],
                    "reason": reason,
                    "spent_usd": round(spent + amount, 10),
                    "max_budget_usd": g.max_budget_usd,
                },
            )
        if g.on_exceed in (
            GuardrailExceedAction.ESCALATE,
            GuardrailExceedAction.PAUSE_AND_ESCALATE,
        ):
            self.followups.escalate(
                intent_id,
                row["agent_id"],
                f"Budget of {g.max_budget_usd} USD exceeded: {round(spent + amount, 10)} USD "
                "recorded",
                {"lease_id": row["id"], "guardrail": "max_budget_usd"},
            )

    # -- helpers ----------------------------------------------------------------------

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
        lease_id = str(uuid.uuid4())
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

    async def _enter_slot(
        self, principal: Principal, intent_id: str | None, portfolio_id: str | None
    ) -> str | None:
        if intent_id is not None:
            intent = await self.intents.get(intent_id)
            await lock_intent(self.db, intent_id)
            await self.intents.check(WriteAttempt(principal, intent, "coordinator"))
        elif portfolio_id is not None and not await PortfolioRow.exists().where(
            PortfolioRow.id == portfolio_id
        ):
            raise NotFoundError("Portfolio not found", status_code=404)
        return _slot(intent_id, portfolio_id)

    async def _enter_lease(self, principal: Principal, row: Row) -> None:
        if row["intent_id"] is not None:
            await self._enter_slot(principal, row["intent_id"], None)

    async def _load_live(self, principal: Principal, lease_id: str) -> tuple[Row, dt.datetime]:
        row = await self._row(lease_id)
        await self._enter_lease(principal, row)
        row = await self._row(lease_id)
        now = self.clock()
        self._require_live(row, now)
        return row, now

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

    async def _governing_guardrails(self, intent_id: str) -> Guardrails | None:
        row = await self.governing(intent_id)
        return None if row is None else _guardrails(row)

    async def _active_tasks(self, intent_id: str, excluding: str | None = None) -> int:
        where = (TaskRow.intent_id == intent_id) & TaskRow.status.is_in(
            [TaskStatus.CLAIMED.value, TaskStatus.RUNNING.value]
        )
        if excluding is not None:
            where &= TaskRow.id != excluding
        return int(await TaskRow.count().where(where))

    async def _row(self, lease_id: str) -> Row:
        rows = await L.select().where(L.id == lease_id).limit(1)
        if not rows:
            raise NotFoundError("Coordinator lease not found", status_code=404)
        return rows[0]

    async def _cas(self, row: Row, values: dict[str, Any]) -> Row:
        update: dict[Any, Any] = {L.version: L.version + 1}
        for name, value in values.items():
            update[getattr(L, name)] = value
        rows = (
            await L.update(update)
            .where((L.id == row["id"]) & (L.version == row["version"]))
            .returning(*L.all_columns())
        )
        if not rows:
            latest = await self._row(row["id"])
            raise ConflictError(
                "Version conflict", current_version=latest["version"], status_code=409
            )
        return dict(rows[0])

    async def _authorize(self, principal: Principal, row: Row, needed: Permission) -> None:
        access = self.registry.get("access")
        if access is not None and row["intent_id"] is not None:
            await access.authorize(principal, row["intent_id"], needed)


def _slot(intent_id: str | None, portfolio_id: str | None) -> str | None:
    if intent_id is not None:
        return f"intent:{intent_id}"
    if portfolio_id is not None:
        return f"portfolio:{portfolio_id}"
    return None


def _guardrails(row: Row) -> Guardrails | None:
    stored = load_json(row["guardrails"])
    return None if stored is None else Guardrails.from_dict(stored)


def _dump_guardrails(guardrails: Guardrails | None) -> str | None:
    return None if guardrails is None else dump_json(unstructure(guardrails))


def _keys(guardrails: Guardrails | None) -> list[str]:
    return [] if guardrails is None else list(unstructure(guardrails))


def _invalid(field: str, msg: str) -> ValidationError:
    return ValidationError(f"{field}: {msg}", errors=[{"loc": ["body", field], "msg": msg}])


def _check_lease_texts(req: CoordinatorLeaseCreateRequest) -> None:
    text("agent_id", req.agent_id, required=True)
    for name in ("intent_id", "portfolio_id", "role", "supervisor_id"):
        text(name, getattr(req, name))


def install(services: Services) -> None:
    coordinators = CoordinatorService(services)
    tasks = services.registry.get("tasks")
    if tasks is not None:
        # One queue of escalations: a task write that trips a guardrail waits for both.
        coordinators.followups = tasks.followups
    services.add("coordinators", coordinators)
    services.intents.guards.append(coordinators.on_intent_write)
    governance = services.registry.get("governance")
    if governance is not None:
        # ``GET /intents/{id}/decisions`` lists the records this area stores.
        governance.decision_source = coordinators.decisions
