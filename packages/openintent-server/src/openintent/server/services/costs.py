"""RFC-0009 rules: cost records, their summary, budget alerts, and the cost records
derived from RFC-0008 ``llm_request_completed`` events.

* ``agent_id`` falls back to ``X-Agent-ID``, then the API key (the async reference
  client sends none); ``metadata`` and ``cost_metadata`` are one field.
* Governance sees every record before it is stored: ``IntentService.check`` runs with
  action ``"cost"`` and ``extra = {"amount", "cost_type", "unit", "agent_id",
  "current_total"}``; ``current_total`` is the reference's ``max_cost`` base, the sum
  of the intent's recorded amounts (records derived from LLM events left out, so the
  ceiling means what it means against the reference).
* The summary (``total``, ``by_type``, ``by_agent``) is computed by the database.
  ``GET …/costs`` stays a bare array (reference shape); ``?summary=true`` gives
  RFC-0009's ``{"costs", "summary"}``, ``GET …/costs/summary`` the summary alone, and
  ``GET /portfolios/{id}/costs`` ``{"portfolio_id", "costs", "summary"}`` over every
  member intent (RFC-0007; not served by the reference).
* ``budget_alert`` (RFC-0009): when a record makes the intent's spend in cents (the
  records whose ``unit`` is ``"cents"``) cross
  ``constraints.budget.alert_threshold_percent`` (default 80) of
  ``max_total_cents``, or cross the maximum itself, a ``budget_alert`` message goes out
  on the intent's reference stream. It is not written to the log: the reference
  client's ``EventType`` has no such member and would fail to read the whole log.
* No ``cost_recorded`` event, for the same reason and because the reference writes none.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from piccolo.query.functions.aggregate import Sum

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import (
    CostCreateRequest,
    CostSummary,
    CostType,
    EventType,
    Intent,
    IntentCost,
)
from openintent.server import channels
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import finite, text
from openintent.server.services.guards import WriteAttempt
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store.costs_tables import INDEXES, CostRow
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.portfolios_tables import MembershipRow, PortfolioRow
from openintent.server.store.schema import register_tables

__all__ = ["CostService", "install", "llm_usage_cost"]

register_tables([CostRow], indexes=INDEXES)

DEFAULT_ALERT_PERCENT = 80.0


class CostService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    # -- reads ------------------------------------------------------------------------

    async def records(self, intent_ids: list[str]) -> list[IntentCost]:
        """Records of the intents in insertion order ([] for unknown intents)."""
        if not intent_ids:
            return []
        rows = (
            await CostRow.select().where(CostRow.intent_id.is_in(intent_ids)).order_by(CostRow.seq)
        )
        return [_cost(row) for row in rows]

    async def summary(self, intent_ids: list[str]) -> CostSummary:
        """Totals overall, per cost type and per agent, summed by the database."""
        summary = CostSummary()
        if not intent_ids:
            return summary
        where = CostRow.intent_id.is_in(intent_ids)
        for column, into in (
            (CostRow.cost_type, summary.by_type),
            (CostRow.agent_id, summary.by_agent),
        ):
            rows = (
                await CostRow.select(column, Sum(CostRow.amount, alias="amount"))
                .where(where)
                .group_by(column)
            )
            for row in rows:
                into[row[column._meta.name]] = float(row["amount"] or 0.0)
        summary.total = sum(summary.by_type.values())
        return summary

    async def portfolio_intent_ids(self, portfolio_id: str) -> list[str]:
        if not await PortfolioRow.exists().where(PortfolioRow.id == portfolio_id):
            raise NotFoundError("Portfolio not found", status_code=404)
        rows = (
            await MembershipRow.select(MembershipRow.intent_id)
            .where(MembershipRow.portfolio_id == portfolio_id)
            .order_by(MembershipRow.seq)
        )
        return list(dict.fromkeys(row["intent_id"] for row in rows))

    # -- writes -----------------------------------------------------------------------

    async def record(
        self,
        principal: Principal,
        intent_id: str,
        req: CostCreateRequest,
        idempotency_key: str | None,
    ) -> IntentCost:
        finite("amount", req.amount)
        for field in ("unit", "agent_id", "provider"):
            text(field, getattr(req, field))
        agent_id = principal.fallback(req.agent_id)
        async with self.db.write():
            intent = await self.intents.get(intent_id)
            key = idempotency.scoped_key(principal, f"cost:{intent_id}", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return IntentCost.from_dict(stored)
            extra = {
                "amount": req.amount,
                "cost_type": req.cost_type.value,
                "unit": req.unit,
                "agent_id": agent_id,
                "current_total": await self._recorded_total(intent_id),
            }
            await self.intents.check(WriteAttempt(principal, intent, "cost", extra=extra))
            cost = IntentCost(
                id=new_id(),
                intent_id=intent_id,
                agent_id=agent_id,
                cost_type=req.cost_type,
                amount=req.amount,
                unit=req.unit,
                provider=req.provider,
                metadata=dict(req.cost_metadata),
                recorded_at=utcnow(),
            )
            await self._store(intent, cost)
            if idempotency_key:
                await idempotency.record(key, to_wire(cost))
        return cost

    async def on_intent_write(self, attempt: WriteAttempt) -> None:
        """Derive a ``tokens`` cost record from an ``llm_request_completed`` event.

        An IntentService write guard: it acts only when the event write hands over the
        event (``extra = {"event_type", "payload", "actor"}``), inside the event's
        transaction, so the record commits with the event or not at all. The event
        itself is stored verbatim either way.
        """
        if attempt.action != "event":
            return
        if str(attempt.extra.get("event_type")) != EventType.LLM_REQUEST_COMPLETED.value:
            return
        actor = attempt.extra.get("actor") or attempt.principal.fallback(None)
        cost = llm_usage_cost(attempt.intent.id, str(actor), attempt.extra.get("payload"))
        if cost is not None:
            await self._store(attempt.intent, cost, source_ref=f"llm:{cost.metadata['request_id']}")

    # -- helpers ----------------------------------------------------------------------

    async def _recorded_total(self, intent_id: str) -> float:
        rows = await CostRow.select(Sum(CostRow.amount, alias="total")).where(
            (CostRow.intent_id == intent_id) & CostRow.source_ref.is_null()
        )
        return float(rows[0]["total"] or 0.0) if rows else 0.0

    async def _store(self, intent: Intent, cost: IntentCost, source_ref: str | None = None) -> None:
        before = await self._cents_spent(intent.id)
        inserted = (
            await CostRow.insert(
                CostRow(
                    id=cost.id,
                    intent_id=cost.intent_id,
                    agent_id=cost.agent_id,
                    cost_type=str(cost.cost_type),
                    amount=cost.amount,
                    unit=cost.unit,
                    provider=cost.provider,
                    metadata_json=dump_json(cost.metadata),
                    source_ref=source_ref,
                    recorded_at=cost.recorded_at,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(CostRow.id)
        )
        if inserted:
            await self._budget_alert(intent, cost, before)

    async def _cents_spent(self, intent_id: str) -> float:
        rows = await CostRow.select(Sum(CostRow.amount, alias="total")).where(
            (CostRow.intent_id == intent_id) & (CostRow.unit == "cents")
        )
        return float(rows[0]["total"] or 0.0) if rows else 0.0

    async def _budget_alert(self, intent: Intent, cost: IntentCost, before: float) -> None:
        budget = intent.constraints.get("budget")
        if not isinstance(budget, dict) or cost.unit != "cents":
            return
        limit = _positive(budget.get("max_total_cents"))
        if limit is None:
            return
        threshold = _positive(budget.get("alert_threshold_percent")) or DEFAULT_ALERT_PERCENT
        after = before + cost.amount
        crossed = [
            level for level in (threshold, 100.0) if before * 100 < level * limit <= after * 100
        ]
        if not crossed:
            return
        data = {
            "intent_id": intent.id,
            "cost_id": cost.id,
            "spent_cents": after,
            "max_total_cents": limit,
            "alert_threshold_percent": threshold,
            "percent_used": round(100 * after / limit, 2),
            "limit_reached": after >= limit,
        }
        await self.db.emit(channels.intent(intent.id), "budget_alert", data)


def llm_usage_cost(intent_id: str, actor: str, payload: Any) -> IntentCost | None:
    """The cost record an ``llm_request_completed`` payload stands for, if it has usage.

    ``amount`` is ``total_tokens``, else ``prompt_tokens + completion_tokens``;
    payloads without a ``request_id`` or without token counts yield nothing.
    """
    if not isinstance(payload, dict):
        return None
    request_id = payload.get("request_id")
    if not isinstance(request_id, str) or not request_id or "\x00" in request_id:
        return None
    counts = {k: payload.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    if not all(v is None or _count(v) for v in counts.values()):
        return None
    total = counts["total_tokens"]
    if (
        total is None
        and counts["prompt_tokens"] is not None
        and counts["completion_tokens"] is not None
    ):
        total = counts["prompt_tokens"] + counts["completion_tokens"]
    if total is None:
        return None
    metadata: dict[str, Any] = {"source": "llm_request_completed", "request_id": request_id}
    for key in ("model", "prompt_tokens", "completion_tokens", "duration_ms"):
        if payload.get(key) is not None:
            metadata[key] = payload[key]
    provider = payload.get("provider")
    return IntentCost(
        id=new_id(),
        intent_id=intent_id,
        agent_id=actor,
        cost_type=CostType.TOKENS,
        amount=float(total),
        unit="tokens",
        provider=provider if isinstance(provider, str) and "\x00" not in provider else None,
        metadata=metadata,
        recorded_at=utcnow(),
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _positive(value: Any) -> float | None:
    """``value`` as a float when it is a positive finite number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def _cost(row: dict[str, Any]) -> IntentCost:
    kind: CostType | str = row["cost_type"]
    with contextlib.suppress(ValueError):  # a type outside the enum stays a string
        kind = CostType(kind)
    return IntentCost(
        id=row["id"],
        intent_id=row["intent_id"],
        agent_id=row["agent_id"],
        cost_type=kind,
        amount=float(row["amount"]),
        unit=row["unit"],
        provider=row["provider"],
        metadata=load_json(row["metadata_json"], {}),
        recorded_at=row["recorded_at"],
    )


def install(services: Services) -> None:
    service = CostService(services.db, services.intents)
    services.add("costs", service)
    services.intents.guards.append(service.on_intent_write)
