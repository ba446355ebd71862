"""RFC-0007 routes: portfolios and memberships. Shape only; rules live in
``services.portfolios``. Lists are bare arrays, as the reference returns them."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from openintent.models import (
    PortfolioCreateRequest,
    PortfolioIntentAddRequest,
    PortfolioStatusUpdateRequest,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.portfolios import PortfolioService

__all__ = ["CONTROLLERS", "IntentPortfoliosController", "PortfolioController"]

Req = Request[Any, Any, Any]


class PortfolioController(ApiController):
    path = "/api/v1/portfolios"
    tags = ["portfolios"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/", dto=CattrsDTO[PortfolioCreateRequest], status_code=200)
    async def create_portfolio(
        self,
        request: Req,
        data: JSONBody[PortfolioCreateRequest],
        portfolios: NamedDependency[PortfolioService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await portfolios.create(principal_of(request), data, key))

    @get("/")
    async def list_portfolios(
        self,
        portfolios: NamedDependency[PortfolioService],
        created_by: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return json_response(await portfolios.find(created_by))

    @get("/{portfolio_id:str}")
    async def get_portfolio(
        self, portfolio_id: FromPath[str], portfolios: NamedDependency[PortfolioService]
    ) -> Response[bytes]:
        return json_response(await portfolios.get(portfolio_id))

    @patch(
        "/{portfolio_id:str}/status", dto=CattrsDTO[PortfolioStatusUpdateRequest], status_code=200
    )
    async def update_status(
        self,
        request: Req,
        portfolio_id: FromPath[str],
        data: JSONBody[PortfolioStatusUpdateRequest],
        portfolios: NamedDependency[PortfolioService],
    ) -> Response[bytes]:
        return json_response(await portfolios.set_status(principal_of(request), portfolio_id, data))

    @get("/{portfolio_id:str}/intents")
    async def list_intents(
        self, portfolio_id: FromPath[str], portfolios: NamedDependency[PortfolioService]
    ) -> Response[bytes]:
        return json_response(await portfolios.member_intents(portfolio_id))

    @post("/{portfolio_id:str}/intents", dto=CattrsDTO[PortfolioIntentAddRequest], status_code=200)
    async def add_intent(
        self,
        request: Req,
        portfolio_id: FromPath[str],
        data: JSONBody[PortfolioIntentAddRequest],
        portfolios: NamedDependency[PortfolioService],
    ) -> Response[bytes]:
        return json_response(await portfolios.add_intent(principal_of(request), portfolio_id, data))

    @delete("/{portfolio_id:str}/intents/{intent_id:str}", status_code=200)
    async def remove_intent(
        self,
        request: Req,
        portfolio_id: FromPath[str],
        intent_id: FromPath[str],
        portfolios: NamedDependency[PortfolioService],
    ) -> Response[bytes]:
        await portfolios.remove_intent(principal_of(request), portfolio_id, intent_id)
        return json_response({"message": "Intent removed from portfolio"})


class IntentPortfoliosController(ApiController):
    path = "/api/v1/intents"
    tags = ["portfolios"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/{intent_id:str}/portfolios")
    async def intent_portfolios(
        self, intent_id: FromPath[str], portfolios: NamedDependency[PortfolioService]
    ) -> Response[bytes]:
        return json_response(await portfolios.portfolios_of(intent_id))


CONTROLLERS: list[Any] = [PortfolioController, IntentPortfoliosController]
