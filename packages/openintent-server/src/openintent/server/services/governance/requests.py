"""Escalations and approval requests: filing, listing, resolving and deciding them."""

from __future__ import annotations

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import ConflictError, NotFoundError
from openintent.models import (
    ApprovalCreateRequest,
    ApprovalRequest,
    ApprovalStatus,
    Escalation,
    EscalationCreateRequest,
    EscalationResolveRequest,
    EscalationStatus,
    EventType,
    Permission,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import idempotency
from openintent.server.services.events import record_event
from openintent.server.services.governance.records import _approval, _escalation, _texts
from openintent.server.services.principal import Principal
from openintent.server.store.database import dump_json
from openintent.server.store.governance_tables import ApprovalRow, EscalationRow

__all__ = ["GovernanceRequests"]


class GovernanceRequests:
    """Escalations and approvals (mixed into ``GovernanceService``)."""

    async def escalate(
        self,
        principal: Principal,
        intent_id: str,
        req: EscalationCreateRequest,
        idempotency_key: str | None = None,
    ) -> Escalation:
        _texts(
            reason=req.reason,
            escalated_by=req.escalated_by,
            priority=str(req.priority),
            urgency=str(req.urgency),
        )
        escalation = Escalation(
            id=new_id(),
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
            key = idempotency.scoped_key(
                principal, f"escalation:{intent_id}", idempotency_key or ""
            )
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return Escalation.from_dict(stored)
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
            if idempotency_key:
                await idempotency.record(key, to_wire(escalation))
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

    async def request_approval(
        self,
        principal: Principal,
        intent_id: str,
        req: ApprovalCreateRequest,
        idempotency_key: str | None = None,
    ) -> ApprovalRequest:
        _texts(action=req.action, reason=req.reason, requested_by=req.requested_by)
        approval = ApprovalRequest(
            id=new_id(),
            intent_id=intent_id,
            requested_by=principal.fallback(req.requested_by),
            action=req.action,
            reason=req.reason,
            context=req.context,
            created_at=utcnow(),
        )
        async with self.db.write():
            await self.intents.require(intent_id)
            key = idempotency.scoped_key(principal, f"approval:{intent_id}", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return ApprovalRequest.from_dict(stored)
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
            if idempotency_key:
                await idempotency.record(key, to_wire(approval))
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
