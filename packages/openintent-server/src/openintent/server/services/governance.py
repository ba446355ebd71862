"""RFC-0004/0013 rules: arbitration, decisions, escalations, approval requests, the
per-intent governance policy, and the policy's enforcement on intent writes.

Enforcement is a write guard (``services.intents.guards``), so it runs inside the
write's transaction, before the version check, as the reference orders it. The
acting identity is the caller's API key or the agent named in ``X-Agent-ID`` (the
reference compares only the key, which makes ``allowed_agents`` unusable for agents).

Cost writes (another area) ask for the ``max_cost`` check with
``WriteAttempt(principal, intent, "cost", extra={"amount": <float>})``; the recorded
total is read through :attr:`GovernanceService.cost_total`, under the intent's row
lock on PostgreSQL. RFC-0013 decision records (coordinators area)
are read through :attr:`GovernanceService.decision_source` (by default from the
coordinators service).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from piccolo.query.functions.aggregate import Sum

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, ForbiddenError, NotFoundError, OpenIntentError
from openintent.models import (
    ApprovalCreateRequest,
    ApprovalRequest,
    ApprovalStatus,
    ArbitrationCreateRequest,
    ArbitrationRequest,
    CompletionMode,
    Decision,
    DecisionCreateRequest,
    DecisionRecord,
    Escalation,
    EscalationCreateRequest,
    EscalationResolveRequest,
    EscalationStatus,
    EventType,
    GovernancePolicy,
    GovernanceViolation,
    Intent,
    IntentGovernance,
    IntentStatus,
    Permission,
    WriteScope,
    governance_policy_error,
)
from openintent.server import channels
from openintent.server.services import Services
from openintent.server.services._checks import text
from openintent.server.services.access import principal_names
from openintent.server.services.events import record_event
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store import governance_tables
from openintent.server.store.costs_tables import CostRow
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.governance_tables import ApprovalRow, EscalationRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import AssignmentRow, IntentRow

__all__ = [
    "GovernanceService",
    "PolicyRejected",
    "install",
    "recorded_cost_total",
]

register_tables(governance_tables.TABLES, indexes=governance_tables.INDEXES)

log = logging.getLogger("openintent.server")

CostTotal = Callable[[str], Awaitable[float]]
DecisionSource = Callable[[str, int], Awaitable[list[DecisionRecord]]]

GOVERNED_ACTIONS = frozenset({"state", "status", "cost", "assign"})


class PolicyRejected(OpenIntentError):
    """A ``PUT …/governance`` body failed a value check: ``422`` with a string
    ``detail``, as the reference answers (not the list form of body validation)."""


# -- the costs area's records, read through a replaceable function ----------------------


async def recorded_cost_total(intent_id: str) -> float:
    """The amounts recorded for the intent that count against ``max_cost`` (RFC-0009).

    Records the costs area derived from LLM events are left out, as that area counts
    them for its own ``current_total``.
    """
    rows = await CostRow.select(Sum(CostRow.amount, alias="total")).where(
        (CostRow.intent_id == intent_id) & CostRow.source_ref.is_null()
    )
    return float(rows[0]["total"] or 0.0) if rows else 0.0


class GovernanceService:
    def __init__(self, services: Services) -> None:
        self.db: Database = services.db
        self.intents: IntentService = services.intents
        self._services = services
        self.cost_total: CostTotal = recorded_cost_total
        self.decision_source: DecisionSource = self._coordinator_decisions
        self._pending: set[asyncio.Task[None]] = set()

    # -- arbitration and RFC-0003 decisions (events only) -----------------------------

    async def arbitrate(
        self, principal: Principal, intent_id: str, req: ArbitrationCreateRequest
    ) -> ArbitrationRequest:
        _texts(reason=req.reason, requested_by=req.requested_by)
        requester = principal.fallback(req.requested_by)
        async with self.db.write():
            await self.intents.require(intent_id)
            event = await record_event(
                intent_id,
                EventType.ARBITRATION_REQUESTED,
                requester,
                {"reason": req.reason, "context": req.context},
            )
        return ArbitrationRequest(
            id=event.id,
            intent_id=intent_id,
            requester_id=requester,
            reason=req.reason,
            context=req.context,
            created_at=event.created_at,
        )

    async def record_decision(
        self, principal: Principal, intent_id: str, req: DecisionCreateRequest
    ) -> Decision:
        _texts(decided_by=req.decided_by)
        decided_by = principal.fallback(req.decided_by)
        async with self.db.write():
            await self.intents.require(intent_id)
            event = await record_event(
                intent_id,
                EventType.DECISION_RECORDED,
                decided_by,
                {
                    "decision_type": req.decision_type,
                    "outcome": req.outcome,
                    "rationale": req.rationale,
                },
            )
        return Decision(
            id=event.id,
            outcome=req.outcome,
            intent_id=intent_id,
            decision_maker_id=decided_by,
            decision_type=req.decision_type,
            reasoning=req.rationale,
            created_at=event.created_at,
        )

    async def list_decisions(self, intent_id: str, limit: int) -> list[DecisionRecord]:
        return await self.decision_source(intent_id, limit)

    async def _coordinator_decisions(self, intent_id: str, limit: int) -> list[DecisionRecord]:
        """RFC-0013 records, newest first; the coordinators area stores them."""
        coordinators = self._services.registry.get("coordinators")
        if coordinators is None:
            return []
        records: list[DecisionRecord] = await coordinators.decisions(intent_id, limit)
        return records

    # -- escalations ------------------------------------------------------------------

    async def escalate(
        self, principal: Principal, intent_id: str, req: EscalationCreateRequest
    ) -> Escalation:
        _texts(
            reason=req.reason,
            escalated_by=req.escalated_by,
            priority=str(req.priority),
            urgency=str(req.urgency),
        )
        escalation = Escalation(
            id=str(uuid.uuid4()),
            intent_id=intent_id,
            escalated_by=principal.fallback(req.escalated_by),
            reason=req.reason,
            priority=req.priority,
            urgency=req.urgency,
            context=req.context,
            created_at=utcnow(),
        )
        async with self.db.write():
            await self.intents.require(intent_id)
            await EscalationRow.insert(
                EscalationRow(
                    id=escalation.id,
                    intent_id=intent_id,
                    escalated_by=escalation.escalated_by,
                    reason=escalation.reason,
                    priority=str(escalation.priority),
                    urgency=str(escalation.urgency),
                    context=dump_json(escalation.context),
                    status=escalation.status.value,
                    created_at=escalation.created_at,
                )
            )
            await record_event(
                intent_id,
                EventType.ESCALATION_INITIATED,
                escalation.escalated_by,
                {
                    "escalation_id": escalation.id,
                    "reason": escalation.reason,
                    "priority": str(escalation.priority),
                },
            )
        return escalation

    async def list_escalations(
        self, principal: Principal, intent_id: str | None, status: str | None
    ) -> list[Escalation]:
        query = EscalationRow.select().order_by(EscalationRow.seq, ascending=False)
        if intent_id is not None:
            query = query.where(EscalationRow.intent_id == intent_id)
        if status is not None:
            query = query.where(EscalationRow.status == status)
        escalations = [_escalation(row) for row in await query]
        # Escalations of intents closed to the caller are left out.
        visible = await self._access().readable(principal, {e.intent_id for e in escalations})
        return [e for e in escalations if e.intent_id in visible]

    async def resolve_escalation(
        self, principal: Principal, escalation_id: str, req: EscalationResolveRequest
    ) -> Escalation:
        _texts(resolution=req.resolution, notes=req.notes, resolved_by=req.resolved_by)
        resolved_by = principal.fallback(req.resolved_by)
        async with self.db.write():
            rows = await EscalationRow.select(EscalationRow.intent_id).where(
                EscalationRow.id == escalation_id
            )
            if not rows:
                raise NotFoundError("Escalation not found", status_code=404)
            intent_id = rows[0]["intent_id"]
            await self._access().authorize(principal, intent_id, Permission.WRITE)
            # Resolving again is allowed (reference): the new resolution replaces the old.
            updated = (
                await EscalationRow.update(
                    {
                        EscalationRow.status: EscalationStatus.RESOLVED.value,
                        EscalationRow.resolved_at: utcnow(),
                        EscalationRow.resolved_by: resolved_by,
                        EscalationRow.resolution: req.resolution,
                        EscalationRow.resolution_notes: req.notes or None,
                    }
                )
                .where(EscalationRow.id == escalation_id)
                .returning(*EscalationRow.all_columns())
            )
            await record_event(
                intent_id,
                EventType.ESCALATION_RESOLVED,
                resolved_by,
                {"escalation_id": escalation_id, "resolution": req.resolution},
            )
        return _escalation(updated[0])

    # -- approval requests ------------------------------------------------------------

    async def request_approval(
        self, principal: Principal, intent_id: str, req: ApprovalCreateRequest
    ) -> ApprovalRequest:
        _texts(action=req.action, reason=req.reason, requested_by=req.requested_by)
        approval = ApprovalRequest(
            id=str(uuid.uuid4()),
            intent_id=intent_id,
            requested_by=principal.fallback(req.requested_by),
            action=req.action,
            reason=req.reason,
            context=req.context,
            created_at=utcnow(),
        )
        async with self.db.write():
            await self.intents.require(intent_id)
            await ApprovalRow.insert(
                ApprovalRow(
                    id=approval.id,
                    intent_id=intent_id,
                    requested_by=approval.requested_by,
                    action=approval.action,
                    reason=approval.reason,
                    context=dump_json(approval.context),
                    status=approval.status.value,
                    created_at=approval.created_at,
                )
            )
        return approval

    async def get_approval(self, intent_id: str, approval_id: str) -> ApprovalRequest:
        rows = await ApprovalRow.select().where(
            (ApprovalRow.id == approval_id) & (ApprovalRow.intent_id == intent_id)
        )
        if not rows:
            raise NotFoundError("Approval request not found", status_code=404)
        return _approval(rows[0])

    async def decide_approval(
        self, principal: Principal, intent_id: str, approval_id: str, *, approve: bool
    ) -> ApprovalRequest:
        """Approve or deny a pending approval request; a decided one answers 409."""
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
        verb = "approve" if approve else "deny"
        async with self.db.write():
            # One conditional UPDATE: of two concurrent decisions exactly one matches.
            rows = (
                await ApprovalRow.update(
                    {
                        ApprovalRow.status: status.value,
                        ApprovalRow.decided_at: utcnow(),
                        ApprovalRow.decided_by: principal.actor,
                    }
                )
                .where(
                    (ApprovalRow.id == approval_id)
                    & (ApprovalRow.intent_id == intent_id)
                    & (ApprovalRow.status == ApprovalStatus.PENDING.value)
                )
                .returning(*ApprovalRow.all_columns())
            )
            if not rows:
                current = await self.get_approval(intent_id, approval_id)
                raise ConflictError(
                    f"Approval is already '{current.status.value}', cannot {verb}",
                    status_code=409,
                )
            approval = _approval(rows[0])
            payload = {
                "approval_id": approval.id,
                "action": approval.action,
                "decision": status.value,
                "requested_by": approval.requested_by,
            }
            event_type = (
                EventType.GOVERNANCE_APPROVAL_GRANTED
                if approve
                else EventType.GOVERNANCE_APPROVAL_DENIED
            )
            await record_event(intent_id, event_type, principal.actor, payload)
            await self.db.emit(
                channels.intent(intent_id),
                event_type.value,
                {**payload, "decided_by": approval.decided_by},
            )
        return approval

    # -- the policy -------------------------------------------------------------------

    async def get_policy(self, intent_id: str) -> IntentGovernance:
        intent = await self.intents.get(intent_id)
        stored = dict(intent.governance_policy or {})
        return IntentGovernance(intent_id, stored, GovernancePolicy.lenient(stored))

    async def set_policy(
        self, principal: Principal, intent_id: str, if_match: int, policy: dict[str, Any]
    ) -> Intent:
        """Replace the whole policy (no merge); the intent's version goes up by one."""
        async with self.db.write():
            current = await self.intents.get(intent_id)
            await self.intents.check(WriteAttempt(principal, current, "governance"))
            error = governance_policy_error(policy)
            if error is not None:
                raise PolicyRejected(error, status_code=422)
            _check_version(current, if_match)
            updated = await self.intents.bump(current, governance_policy=dump_json(policy))
            payload = {"governance_policy": policy, "version": updated.version}
            await record_event(intent_id, EventType.GOVERNANCE_POLICY_SET, principal.actor, payload)
            await self.db.emit(
                channels.intent(intent_id), EventType.GOVERNANCE_POLICY_SET.value, payload
            )
        return updated

    async def remove_policy(self, principal: Principal, intent_id: str, if_match: int) -> Intent:
        async with self.db.write():
            current = await self.intents.get(intent_id)
            await self.intents.check(WriteAttempt(principal, current, "governance"))
            _check_version(current, if_match)
            updated = await self.intents.bump(current, governance_policy=None)
            payload = {"version": updated.version}
            await record_event(
                intent_id, EventType.GOVERNANCE_POLICY_REMOVED, principal.actor, payload
            )
            await self.db.emit(
                channels.intent(intent_id), EventType.GOVERNANCE_POLICY_REMOVED.value, payload
            )
        return updated

    # -- enforcement ------------------------------------------------------------------

    async def guard(self, attempt: WriteAttempt) -> None:
        """Refuse an intent write the intent's policy does not allow (403)."""
        if attempt.action not in GOVERNED_ACTIONS or not attempt.intent.governance_policy:
            return
        policy = GovernancePolicy.lenient(attempt.intent.governance_policy)
        if policy.is_default:
            return
        if attempt.action == "assign":
            if attempt.agent_id is not None and not policy.allows_agent(attempt.agent_id):
                self._violation(
                    attempt,
                    "allowed_agents",
                    f"Governance policy does not allow assigning agent '{attempt.agent_id}'; "
                    f"allowed agents: {', '.join(policy.allowed_agents)}.",
                )
            return
        await self._check_writer(attempt, policy)
        if attempt.action == "status":
            await self._check_status(attempt, policy)
        elif attempt.action == "cost":
            await self._check_cost(attempt, policy)

    async def _check_writer(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        names = principal_names(attempt.principal)
        if policy.write_scope == WriteScope.ASSIGNED_ONLY:
            rows = await AssignmentRow.select(AssignmentRow.agent_id).where(
                AssignmentRow.intent_id == attempt.intent.id
            )
            if not names & {row["agent_id"] for row in rows}:
                self._violation(
                    attempt,
                    "write_scope",
                    "Governance policy sets write_scope='assigned_only': only agents "
                    "assigned to this intent may write to it.",
                )
        if policy.allowed_agents and not names & set(policy.allowed_agents):
            self._violation(
                attempt,
                "allowed_agents",
                "Governance policy restricts writes to the allowed agents: "
                f"{', '.join(policy.allowed_agents)}.",
            )

    async def _check_status(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        if policy.require_status_reason and not attempt.reason:
            # The reference records no violation event for this rule.
            self._refuse(
                "require_status_reason",
                "Governance policy requires a 'reason' field for all status transitions.",
            )
        if attempt.target_status != IntentStatus.COMPLETED.value:
            return
        intent_id = attempt.intent.id
        if policy.completion_mode == CompletionMode.REQUIRE_APPROVAL:
            if await self._approved_completions(intent_id) < 1:
                self._violation(
                    attempt,
                    "completion_mode",
                    "Governance policy requires an approved 'complete' approval request "
                    "before this intent can be completed.",
                    mode=CompletionMode.REQUIRE_APPROVAL,
                )
        elif policy.completion_mode == CompletionMode.QUORUM:
            # Assignment rows, duplicates included, as the reference counts them.
            assigned = await AssignmentRow.count().where(AssignmentRow.intent_id == intent_id)
            if assigned == 0:
                self._refuse(
                    "completion_mode",
                    "Governance policy requires quorum approval, but no agents are "
                    "assigned to this intent.",
                    mode=CompletionMode.QUORUM,
                )
            required = policy.required_approvals(assigned)
            approved = await self._approved_completions(intent_id)
            if approved < required:
                self._violation(
                    attempt,
                    "completion_mode",
                    f"Governance policy requires quorum approval. {approved} of {required} "
                    f"required approvals received (threshold={policy.quorum_threshold}, "
                    f"{assigned} assigned agents).",
                    mode=CompletionMode.QUORUM,
                )

    async def _check_cost(self, attempt: WriteAttempt, policy: GovernancePolicy) -> None:
        if policy.max_cost is None:
            return
        amount = float(attempt.extra.get("amount", 0.0))
        if not self.db.is_sqlite:
            # Concurrent cost records on one intent must not each see the old total and
            # pass together: take the intent's row lock, then read the total (SQLite
            # write transactions are serial already).
            await IntentRow.raw(
                "SELECT id FROM oi_intents WHERE id = {} FOR UPDATE", attempt.intent.id
            )
        # Read here rather than taking the caller's ``current_total``: only a total read
        # under the lock is current.
        total = await self.cost_total(attempt.intent.id)
        if total + amount > policy.max_cost:
            stored = (attempt.intent.governance_policy or {}).get("max_cost", policy.max_cost)
            self._violation(
                attempt,
                "max_cost",
                f"Governance policy sets max_cost={stored}. Current total is {total}; "
                f"adding {amount} would exceed the ceiling.",
            )

    async def _approved_completions(self, intent_id: str) -> int:
        return int(
            await ApprovalRow.count().where(
                (ApprovalRow.intent_id == intent_id)
                & (ApprovalRow.action == "complete")
                & (ApprovalRow.status == ApprovalStatus.APPROVED.value)
            )
        )

    def _violation(
        self,
        attempt: WriteAttempt,
        rule: str,
        message: str,
        mode: CompletionMode | None = None,
    ) -> NoReturn:
        """Refuse the write and leave a ``governance.violation`` event in the log."""
        self._record_after_refusal(
            attempt.intent.id, attempt.principal.actor, {"rule": rule, "detail": message}
        )
        self._refuse(rule, message, mode)

    @staticmethod
    def _refuse(rule: str, message: str, mode: CompletionMode | None = None) -> NoReturn:
        detail = GovernanceViolation(rule=rule, mode=mode, message=message)
        raise ForbiddenError(message, status_code=403, response={"detail": to_wire(detail)})

    def _record_after_refusal(self, intent_id: str, actor: str, payload: dict[str, Any]) -> None:
        """Write the violation event in its own transaction once the refused one is gone.

        The guard runs inside the refused write's transaction, whose rollback would
        take the event with it, and on SQLite that transaction holds the only writer
        connection. So the event is written by a task started in a fresh context (no
        current unit of work) that queues for the writer behind the rolled-back write.
        """

        async def write() -> None:
            async with self.db.write():
                await record_event(intent_id, EventType.GOVERNANCE_VIOLATION, actor, payload)

        task = asyncio.get_running_loop().create_task(write(), context=contextvars.Context())
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("could not record a governance violation", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for violation events still being written (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _access(self) -> Any:
        # The access area installs after this one; look it up when first needed.
        return self._services.get("access")


def _texts(**fields: str | None) -> None:
    """422 for strings the database cannot store (NUL characters)."""
    for name, value in fields.items():
        text(name, value)


def _check_version(current: Intent, if_match: int) -> None:
    if current.version != if_match:
        raise ConflictError("Version conflict", current_version=current.version, status_code=409)


def _escalation(row: dict[str, Any]) -> Escalation:
    return Escalation.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "escalated_by": row["escalated_by"],
            "reason": row["reason"],
            "priority": row["priority"],
            "urgency": row["urgency"],
            "context": load_json(row["context"], {}),
            "status": row["status"],
            "created_at": row["created_at"],
            "resolved_at": row["resolved_at"],
            "resolved_by": row["resolved_by"] or None,
            "resolution": row["resolution"] or None,
            "resolution_notes": row["resolution_notes"] or None,
        }
    )


def _approval(row: dict[str, Any]) -> ApprovalRequest:
    return ApprovalRequest.from_dict(
        {
            "id": row["id"],
            "intent_id": row["intent_id"],
            "requested_by": row["requested_by"],
            "action": row["action"],
            "reason": row["reason"],
            "context": load_json(row["context"], {}),
            "status": row["status"],
            "created_at": row["created_at"],
            "decided_at": row["decided_at"],
            "decided_by": row["decided_by"],
            "decision_notes": row["decision_notes"],
        }
    )


def install(services: Services) -> None:
    governance = GovernanceService(services)
    services.add("governance", governance)
    services.intents.guards.append(governance.guard)
