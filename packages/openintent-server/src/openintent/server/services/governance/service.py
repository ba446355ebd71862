"""``GovernanceService``: arbitration, RFC-0003 decisions and the per-intent policy,
assembled from requests (escalations, approvals) and enforcement."""

from __future__ import annotations

import asyncio
from typing import Any

from openintent.models import (
    ArbitrationCreateRequest,
    ArbitrationRequest,
    Decision,
    DecisionCreateRequest,
    DecisionRecord,
    EventType,
    GovernancePolicy,
    Intent,
    IntentGovernance,
    governance_policy_error,
)
from openintent.server import channels
from openintent.server.services import Services
from openintent.server.services.events import record_event
from openintent.server.services.governance.enforcement import GovernanceEnforcement
from openintent.server.services.governance.records import (
    CostTotal,
    DecisionSource,
    PolicyRejected,
    _check_version,
    _texts,
    recorded_cost_total,
)
from openintent.server.services.governance.requests import GovernanceRequests
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, dump_json

__all__ = ["GovernanceService"]


class GovernanceService(GovernanceRequests, GovernanceEnforcement):
    def __init__(self, services: Services) -> None:
        self.db: Database = services.db
        self.intents: IntentService = services.intents
        self._services = services
        self.cost_total: CostTotal = recorded_cost_total
        self.decision_source: DecisionSource = self._coordinator_decisions
        self._pending: set[asyncio.Task[None]] = set()

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

    def _access(self) -> Any:
        # The access area installs after this one; look it up when first needed.
        return self._services.get("access")
