"""RFC-0006 part C routes: webhook subscriptions at ``/api/v1/subscriptions`` (called by
the reference client, not served by the reference server). Shape only; rules live in
``services.subscriptions``. The list is a bare array, which the client accepts."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from openintent.models import SubscriptionCreateRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.subscriptions import SubscriptionService

__all__ = ["CONTROLLERS", "SubscriptionController"]

Req = Request[Any, Any, Any]


class SubscriptionController(ApiController):
    path = "/api/v1/subscriptions"
    tags = ["subscriptions"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/", dto=CattrsDTO[SubscriptionCreateRequest], status_code=200)
    async def subscribe(
        self,
        request: Req,
        data: JSONBody[SubscriptionCreateRequest],
        subscriptions: NamedDependency[SubscriptionService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await subscriptions.create(principal_of(request), data, key))

    @get("/")
    async def list_subscriptions(
        self,
        subscriptions: NamedDependency[SubscriptionService],
        intent_id: FromQuery[str | None] = None,
        portfolio_id: FromQuery[str | None] = None,
        subscriber_id: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        found = await subscriptions.find(
            intent_id=intent_id, portfolio_id=portfolio_id, subscriber_id=subscriber_id
        )
        return json_response(found)

    @get("/{subscription_id:str}")
    async def get_subscription(
        self, subscription_id: FromPath[str], subscriptions: NamedDependency[SubscriptionService]
    ) -> Response[bytes]:
        return json_response(await subscriptions.get(subscription_id))

    @delete("/{subscription_id:str}", status_code=204)
    async def unsubscribe(
        self,
        request: Req,
        subscription_id: FromPath[str],
        subscriptions: NamedDependency[SubscriptionService],
    ) -> None:
        await subscriptions.delete(principal_of(request), subscription_id)


CONTROLLERS: list[Any] = [SubscriptionController]
