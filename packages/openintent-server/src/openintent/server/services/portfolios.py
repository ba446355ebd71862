"""RFC-0007 rules: portfolios, memberships and the aggregate status of their members.

Stream messages (decided here, see channels.py):

* reference channel ``channels.portfolio(id)`` carries exactly the reference names and
  data: ``portfolio_created`` (the portfolio), ``intent_added`` ``{}``,
  ``intent_removed`` ``{}``; plus RFC-0026's ``portfolio.member_suspended`` /
  ``portfolio.member_resumed`` ``{"portfolio_id", "intent_id"}`` when a member's
  status enters or leaves ``suspended_awaiting_input``.
* runtime channel ``channels.runtime_portfolio(id)`` carries ``PORTFOLIO_PROGRESS``
  after every change that can move the aggregate (member added or removed, a member's
  status written, the portfolio's own status set), with the counts in the data.

No intent-log events: the reference writes none for portfolios and RFC-0007 asks for
none, so ``portfolio_created`` / ``added_to_portfolio`` / ``removed_from_portfolio``
stay unwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import (
    AggregateStatus,
    Intent,
    IntentPortfolio,
    IntentStatus,
    PortfolioCreateRequest,
    PortfolioIntentAddRequest,
    PortfolioMembership,
    PortfolioStatus,
    PortfolioStatusUpdateRequest,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import integer, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import intent_from_row
from openintent.server.services.principal import Principal
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.portfolios_tables import MembershipRow, PortfolioRow
from openintent.server.store.schema import register_tables
from openintent.server.store.tables import IntentRow

__all__ = ["PortfolioService", "install"]

register_tables([PortfolioRow, MembershipRow])

SUSPENDED = IntentStatus.SUSPENDED_AWAITING_INPUT.value
NOT_FOUND = "Portfolio not found"


class PortfolioService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reads ------------------------------------------------------------------------

    async def get(self, portfolio_id: str) -> IntentPortfolio:
        rows = await PortfolioRow.select().where(PortfolioRow.id == portfolio_id).limit(1)
        if not rows:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return (await self._with_aggregates(rows))[0]

    async def find(self, created_by: str | None = None) -> list[IntentPortfolio]:
        query = PortfolioRow.select().order_by(PortfolioRow.seq)
        if created_by is not None:
            query = query.where(PortfolioRow.created_by == created_by)
        return await self._with_aggregates(await query)

    async def member_intents(self, portfolio_id: str) -> list[Intent]:
        """Distinct member intents in the order they were first added ([] if unknown)."""
        ids = await self._member_ids(portfolio_id)
        if not ids:
            return []
        rows = await IntentRow.select().where(IntentRow.id.is_in(ids))
        by_id = {row["id"]: row for row in rows}
        return [intent_from_row(by_id[i]) for i in ids if i in by_id]

    async def portfolios_of(self, intent_id: str) -> list[IntentPortfolio]:
        """Portfolios the intent belongs to, in portfolio creation order ([] if none)."""
        members = await MembershipRow.select(MembershipRow.portfolio_id).where(
            MembershipRow.intent_id == intent_id
        )
        ids = list({row["portfolio_id"] for row in members})
        if not ids:
            return []
        rows = (
            await PortfolioRow.select().where(PortfolioRow.id.is_in(ids)).order_by(PortfolioRow.seq)
        )
        return await self._with_aggregates(rows)

    async def exists(self, portfolio_id: str) -> bool:
        return bool(await PortfolioRow.exists().where(PortfolioRow.id == portfolio_id))

    # -- writes -----------------------------------------------------------------------

    async def create(
        self, principal: Principal, req: PortfolioCreateRequest, idempotency_key: str | None
    ) -> IntentPortfolio:
        text("name", req.name, required=True)
        text("description", req.description)
        text("created_by", req.created_by)
        async with self.db.write():
            key = idempotency.scoped_key(principal, "create_portfolio", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return IntentPortfolio.from_dict(stored)
            now = utcnow()
            portfolio = IntentPortfolio(
                id=new_id(),
                name=req.name,
                description=req.description or "",
                created_by=principal.fallback(req.created_by),
                status=PortfolioStatus.ACTIVE,
                metadata=dict(req.metadata),
                governance_policy=dict(req.governance_policy),
                created_at=now,
                updated_at=now,
                aggregate_status=AggregateStatus().with_verdict(),
                has_suspended_members=False,
                suspended_member_count=0,
            )
            await PortfolioRow.insert(
                PortfolioRow(
                    id=portfolio.id,
                    name=portfolio.name,
                    description=portfolio.description,
                    created_by=portfolio.created_by,
                    status=portfolio.status.value,
                    governance_policy=dump_json(portfolio.governance_policy),
                    metadata_json=dump_json(req.metadata),
                    created_at=now,
                    updated_at=now,
                )
            )
            data = to_wire(portfolio)
            await self.db.emit(channels.portfolio(portfolio.id), "portfolio_created", data)
            if idempotency_key:
                await idempotency.record(key, data)
        return portfolio

    async def set_status(
        self, principal: Principal, portfolio_id: str, req: PortfolioStatusUpdateRequest
    ) -> IntentPortfolio:
        async with self.db.write():
            updated = (
                await PortfolioRow.update(
                    {PortfolioRow.status: req.status.value, PortfolioRow.updated_at: utcnow()}
                )
                .where(PortfolioRow.id == portfolio_id)
                .returning(*PortfolioRow.all_columns())
            )
            if not updated:
                raise NotFoundError(NOT_FOUND, status_code=404)
            await self._progress(portfolio_id, "portfolio_status_changed", None)
        return await self.get(portfolio_id)

    async def add_intent(
        self, principal: Principal, portfolio_id: str, req: PortfolioIntentAddRequest
    ) -> PortfolioMembership:
        integer("priority", req.priority, low=-(2**31), high=2**31 - 1)
        async with self.db.write():
            if not await self.exists(portfolio_id):
                raise NotFoundError(NOT_FOUND, status_code=404)
            if not await IntentRow.exists().where(IntentRow.id == req.intent_id):
                raise NotFoundError("Intent not found", status_code=404)
            membership = PortfolioMembership(
                id=new_id(),
                portfolio_id=portfolio_id,
                intent_id=req.intent_id,
                role=req.role,
                priority=req.priority,
                added_at=utcnow(),
            )
            await MembershipRow.insert(
                MembershipRow(
                    id=membership.id,
                    portfolio_id=portfolio_id,
                    intent_id=req.intent_id,
                    role=req.role.value,
                    priority=req.priority,
                    added_at=membership.added_at,
                )
            )
            await self.db.emit(channels.portfolio(portfolio_id), "intent_added", {})
            await self._progress(portfolio_id, "intent_added", req.intent_id)
        return membership

    async def remove_intent(self, principal: Principal, portfolio_id: str, intent_id: str) -> None:
        """Remove one membership row (the newest), as the reference removes one per call."""
        async with self.db.write():
            rows = (
                await MembershipRow.select(MembershipRow.id)
                .where(
                    (MembershipRow.portfolio_id == portfolio_id)
                    & (MembershipRow.intent_id == intent_id)
                )
                .order_by(MembershipRow.seq, ascending=False)
                .limit(1)
            )
            if not rows:
                raise NotFoundError("Membership not found", status_code=404)
            await MembershipRow.delete().where(MembershipRow.id == rows[0]["id"])
            await self.db.emit(channels.portfolio(portfolio_id), "intent_removed", {})
            await self._progress(portfolio_id, "intent_removed", intent_id)

    # -- reacting to member status writes (an IntentService write guard) ------------------

    async def on_intent_write(self, attempt: WriteAttempt) -> None:
        """Announce the aggregate a status write will produce.

        Runs inside the status write's transaction, before its version check: the
        messages are stored with the write and published only if it commits.
        """
        if attempt.action != "status" or attempt.target_status is None:
            return
        intent_id = attempt.intent.id
        rows = (
            await MembershipRow.select(MembershipRow.portfolio_id)
            .where(MembershipRow.intent_id == intent_id)
            .order_by(MembershipRow.seq)
        )
        old, new = attempt.intent.status.value, attempt.target_status
        for portfolio_id in dict.fromkeys(row["portfolio_id"] for row in rows):
            extra = {"old_status": old, "new_status": new}
            await self._progress(portfolio_id, "status_changed", intent_id, (intent_id, new), extra)
            member = {"portfolio_id": portfolio_id, "intent_id": intent_id}
            if new == SUSPENDED and old != SUSPENDED:
                await self.db.emit(
                    channels.portfolio(portfolio_id), "portfolio.member_suspended", member
                )
            elif old == SUSPENDED and new != SUSPENDED:
                await self.db.emit(
                    channels.portfolio(portfolio_id), "portfolio.member_resumed", member
                )

    # -- helpers ----------------------------------------------------------------------

    async def _member_ids(self, portfolio_id: str) -> list[str]:
        rows = (
            await MembershipRow.select(MembershipRow.intent_id)
            .where(MembershipRow.portfolio_id == portfolio_id)
            .order_by(MembershipRow.seq)
        )
        return list(dict.fromkeys(row["intent_id"] for row in rows))

    async def _statuses(
        self, portfolio_ids: Iterable[str], override: tuple[str, str] | None = None
    ) -> dict[str, list[str]]:
        """Member statuses per portfolio, one per distinct intent."""
        ids = list(portfolio_ids)
        if not ids:
            return {}
        members = await MembershipRow.select(
            MembershipRow.portfolio_id, MembershipRow.intent_id
        ).where(MembershipRow.portfolio_id.is_in(ids))
        intent_ids = list({row["intent_id"] for row in members})
        status_of: dict[str, str] = {}
        if intent_ids:
            rows = await IntentRow.select(IntentRow.id, IntentRow.status).where(
                IntentRow.id.is_in(intent_ids)
            )
            status_of = {row["id"]: row["status"] for row in rows}
        if override is not None:
            status_of[override[0]] = override[1]
        seen: dict[str, dict[str, str]] = {pid: {} for pid in ids}
        for row in members:
            if row["intent_id"] in status_of:
                seen[row["portfolio_id"]][row["intent_id"]] = status_of[row["intent_id"]]
        return {pid: list(members_of.values()) for pid, members_of in seen.items()}

    async def _with_aggregates(self, rows: list[dict[str, Any]]) -> list[IntentPortfolio]:
        statuses = await self._statuses(row["id"] for row in rows)
        return [_portfolio(row, statuses.get(row["id"], [])) for row in rows]

    async def _progress(
        self,
        portfolio_id: str,
        trigger: str,
        intent_id: str | None,
        override: tuple[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        statuses = (await self._statuses([portfolio_id], override)).get(portfolio_id, [])
        aggregate = AggregateStatus.from_statuses(statuses).with_verdict()
        data: dict[str, Any] = {
            "portfolio_id": portfolio_id,
            "intent_id": intent_id,
            "trigger": trigger,
            **(extra or {}),
            "total": aggregate.total,
            "by_status": aggregate.by_status,
            "completion_percentage": aggregate.completion_percentage,
            "suspended_member_count": statuses.count(SUSPENDED),
            "aggregate_status": to_wire(aggregate),
        }
        await self.db.emit(channels.runtime_portfolio(portfolio_id), "PORTFOLIO_PROGRESS", data)


def _portfolio(row: dict[str, Any], statuses: list[str]) -> IntentPortfolio:
    suspended = statuses.count(SUSPENDED)
    return IntentPortfolio(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        created_by=row["created_by"],
        status=PortfolioStatus(row["status"]),
        metadata=load_json(row["metadata_json"], {}),
        governance_policy=load_json(row["governance_policy"], {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        aggregate_status=AggregateStatus.from_statuses(statuses).with_verdict(),
        has_suspended_members=suspended > 0,
        suspended_member_count=suspended,
    )


def install(services: Services) -> None:
    service = PortfolioService(services.db)
    services.add("portfolios", service)
    services.intents.guards.append(service.on_intent_write)
