"""``CoordinatorService``: reads of coordinator leases and the shared lookups,
assembled from the lease lifecycle, decision records and guardrails."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.core.converter import utcnow
from openintent.exceptions import ConflictError, NotFoundError
from openintent.models import CoordinatorLease, Guardrails, GuardrailStatus, Permission
from openintent.server.services import Services
from openintent.server.services.coordinators.decisions import CoordinatorDecisions
from openintent.server.services.coordinators.guardrails import CoordinatorGuardrails
from openintent.server.services.coordinators.lifecycle import LeaseLifecycle
from openintent.server.services.coordinators.records import (
    L,
    Row,
    _guardrails,
    _slot,
    lease_from_row,
    spent_usd,
    status_at,
)
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.principal import Principal
from openintent.server.services.tasks_common import Clock, Followups, lock_intent
from openintent.server.store.portfolios_tables import PortfolioRow
from openintent.server.store.retry_tables import FailureRow

__all__ = ["CoordinatorService"]


class CoordinatorService(LeaseLifecycle, CoordinatorDecisions, CoordinatorGuardrails):
    def __init__(self, services: Services) -> None:
        self.db = services.db
        self.intents = services.intents
        self.registry = services.registry
        self.clock: Clock = utcnow
        self.followups = Followups(services.registry)

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
