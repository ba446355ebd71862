"""Coordinator decision records (RFC-0013).

Decision records (``POST /api/v1/decisions``) are append-only, need an existing intent,
log ``coordinator.decision``, and are what ``GET /intents/{id}/decisions`` (governance
area) and ``…/coordinator-decisions`` list.
"""

from __future__ import annotations

from openintent.core.converter import to_wire
from openintent.exceptions import NotFoundError
from openintent.models import DecisionRecord, DecisionRecordCreateRequest, EventType, Permission
from openintent.server.ids import new_id
from openintent.server.services import idempotency
from openintent.server.services._checks import finite, text
from openintent.server.services.coordinators.records import _decision
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.services.tasks_common import announce
from openintent.server.store.coordinators_tables import DecisionRecordRow
from openintent.server.store.database import dump_json

__all__ = ["CoordinatorDecisions"]


class CoordinatorDecisions:
    """Decision records (mixed into ``CoordinatorService``)."""

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

    async def record_decision(
        self,
        principal: Principal,
        req: DecisionRecordCreateRequest,
        idempotency_key: str | None = None,
    ) -> DecisionRecord:
        for name in ("coordinator_id", "intent_id", "summary", "rationale"):
            text(name, getattr(req, name))
        if req.confidence is not None:
            finite("confidence", req.confidence)
        record = DecisionRecord(
            id=new_id(),
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
            key = idempotency.scoped_key(principal, "decision_record", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return DecisionRecord.from_dict(stored)
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
            if idempotency_key:
                await idempotency.record(key, to_wire(record))
        return record
