"""RFC-0009 routes: cost records of an intent and cost roll-ups. Shape only; rules live
in ``services.costs``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from openintent.models import CostCreateRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.costs import CostService

__all__ = ["CONTROLLERS", "IntentCostController", "PortfolioCostController"]

Req = Request[Any, Any, Any]


class IntentCostController(ApiController):
    path = "/api/v1/intents/{intent_id:str}/costs"
    tags = ["costs"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/")
    async def list_costs(
        self,
        intent_id: FromPath[str],
        costs: NamedDependency[CostService],
        summary: FromQuery[bool] = False,
    ) -> Response[bytes]:
        """A bare array, as the reference; ``?summary=true``: RFC-0009's object form."""
        records = await costs.records([intent_id])
        if not summary:
            return json_response(records)
        return json_response({"costs": records, "summary": await costs.summary([intent_id])})

    @get("/summary")
    async def cost_summary(
        self, intent_id: FromPath[str], costs: NamedDependency[CostService]
    ) -> Response[bytes]:
        return json_response(await costs.summary([intent_id]))

    @post("/", dto=CattrsDTO[CostCreateRequest], status_code=200)
    async def record_cost(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[CostCreateRequest],
        costs: NamedDependency[CostService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await costs.record(principal_of(request), intent_id, data, key))


class PortfolioCostController(ApiController):
    path = "/api/v1/portfolios/{portfolio_id:str}/costs"
    tags = ["costs"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/")
    async def portfolio_costs(
        self, portfolio_id: FromPath[str], costs: NamedDependency[CostService]
    ) -> Response[bytes]:
        """RFC-0007's roll-up (not served by the reference): ``{"portfolio_id", "costs", "summary"}``."""
        intent_ids = await costs.portfolio_intent_ids(portfolio_id)
        return json_response(
            {
                "portfolio_id": portfolio_id,
                "costs": await costs.records(intent_ids),
                "summary": await costs.summary(intent_ids),
            }
        )


CONTROLLERS: list[Any] = [IntentCostController, PortfolioCostController]
