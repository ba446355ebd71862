"""RFC-0006 part C rules: webhook subscriptions (the reference server has none: 404).

A subscription is scoped to one intent, one portfolio, or (neither given) every event;
an empty ``event_types`` list means every type. Checks, all 4xx with nothing stored:
a named intent or portfolio must exist (404), at most one scope (422), the webhook URL
must be an absolute ``http``/``https`` URL (422). ``subscriber_id`` falls back to
``X-Agent-ID``, then the API key. ``active`` is reported false once ``expires_at`` has
passed; expired subscriptions are still listed until deleted.

Webhook delivery is :mod:`services.webhooks`; its loop runs between :meth:`start` and
:meth:`stop` of this service (called by the app at start-up and shutdown).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import EventType, IntentSubscription, SubscriptionCreateRequest
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import invalid, text
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.services.webhooks import WebhookDispatcher
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.portfolios_tables import PortfolioRow
from openintent.server.store.schema import register_tables
from openintent.server.store.subscriptions_tables import (
    INDEXES,
    SubscriptionRow,
    WebhookCursorRow,
    WebhookDeliveryRow,
)

__all__ = ["SubscriptionService", "install"]

register_tables([SubscriptionRow, WebhookDeliveryRow, WebhookCursorRow], indexes=INDEXES)

NOT_FOUND = "Subscription not found"


class SubscriptionService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents
        self.dispatcher = WebhookDispatcher(db)

    async def start(self) -> None:
        await self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()

    async def find(
        self,
        *,
        intent_id: str | None = None,
        portfolio_id: str | None = None,
        subscriber_id: str | None = None,
    ) -> list[IntentSubscription]:
        query = SubscriptionRow.select().order_by(SubscriptionRow.seq)
        for column, value in (
            (SubscriptionRow.intent_id, intent_id),
            (SubscriptionRow.portfolio_id, portfolio_id),
            (SubscriptionRow.subscriber_id, subscriber_id),
        ):
            if value is not None:
                query = query.where(column == value)
        now = utcnow()
        return [_subscription(row, now) for row in await query]

    async def get(self, subscription_id: str) -> IntentSubscription:
        rows = await SubscriptionRow.select().where(SubscriptionRow.id == subscription_id).limit(1)
        if not rows:
            raise NotFoundError(NOT_FOUND, status_code=404)
        return _subscription(rows[0], utcnow())

    async def create(
        self,
        principal: Principal,
        req: SubscriptionCreateRequest,
        idempotency_key: str | None,
    ) -> IntentSubscription:
        _validate(req)
        async with self.db.write():
            if req.intent_id is not None:
                await self.intents.require(req.intent_id)
            if req.portfolio_id is not None and not await PortfolioRow.exists().where(
                PortfolioRow.id == req.portfolio_id
            ):
                raise NotFoundError("Portfolio not found", status_code=404)
            key = idempotency.scoped_key(principal, "subscribe", idempotency_key or "")
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return IntentSubscription.from_dict(stored)
            now = utcnow()
            subscription = IntentSubscription(
                id=new_id(),
                subscriber_id=principal.fallback(req.subscriber_id),
                intent_id=req.intent_id,
                portfolio_id=req.portfolio_id,
                event_types=list(dict.fromkeys(req.event_types)),
                webhook_url=req.webhook_url,
                active=True,
                expires_at=req.expires_at,
                created_at=now,
            )
            await SubscriptionRow.insert(
                SubscriptionRow(
                    id=subscription.id,
                    subscriber_id=subscription.subscriber_id,
                    intent_id=subscription.intent_id,
                    portfolio_id=subscription.portfolio_id,
                    event_types=dump_json([str(t) for t in subscription.event_types]),
                    webhook_url=subscription.webhook_url,
                    active=True,
                    expires_at=subscription.expires_at,
                    created_by=principal.actor,
                    created_at=now,
                )
            )
            subscription.active = subscription.is_live_at(now)
            if idempotency_key:
                await idempotency.record(key, to_wire(subscription))
        return subscription

    async def delete(self, principal: Principal, subscription_id: str) -> None:
        async with self.db.write():
            removed = (
                await SubscriptionRow.delete()
                .where(SubscriptionRow.id == subscription_id)
                .returning(SubscriptionRow.id)
            )
            if not removed:
                raise NotFoundError(NOT_FOUND, status_code=404)


def _validate(req: SubscriptionCreateRequest) -> None:
    if req.intent_id is not None and req.portfolio_id is not None:
        raise invalid("portfolio_id", "give intent_id or portfolio_id, not both")
    for field in ("intent_id", "portfolio_id", "subscriber_id", "webhook_url"):
        text(field, getattr(req, field))
    for event_type in req.event_types:
        text("event_types", str(event_type), required=True)
    if req.webhook_url is not None:
        parts = urlsplit(req.webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise invalid("webhook_url", "must be an absolute http or https URL")


def _subscription(row: dict[str, Any], now: dt.datetime) -> IntentSubscription:
    types: list[EventType | str] = []
    for raw in load_json(row["event_types"], []):
        try:
            types.append(EventType(raw))
        except ValueError:
            types.append(raw)
    subscription = IntentSubscription(
        id=row["id"],
        subscriber_id=row["subscriber_id"],
        intent_id=row["intent_id"],
        portfolio_id=row["portfolio_id"],
        event_types=types,
        webhook_url=row["webhook_url"],
        active=bool(row["active"]),
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )
    subscription.active = subscription.is_live_at(now)
    return subscription


def install(services: Services) -> None:
    services.add("subscriptions", SubscriptionService(services.db, services.intents))
