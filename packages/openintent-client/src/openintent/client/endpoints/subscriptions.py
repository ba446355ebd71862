"""RFC-0006 part C: webhook subscriptions (not served by the reference server: 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing
from openintent.client.endpoints._util import api, iso, value_of
from openintent.core.converter import utcnow
from openintent.models import IntentSubscription

__all__ = ["get_subscriptions", "subscribe", "unsubscribe"]


def subscribe(
    ctx: Context,
    target: str | None = None,
    /,
    portfolio_id: str | list[str] | None = None,
    event_types: list[str] | str | None = None,
    webhook_url: str | None = None,
    expires_at: dt.datetime | str | float | None = None,
    *,
    intent_id: str | None = None,
    expires_in_hours: float | None = None,
) -> Call[IntentSubscription]:
    """Register a webhook for an intent's or a portfolio's events.

    One signature for both reference call styles: the sync order ``(intent_id,
    portfolio_id, event_types, webhook_url, expires_at)`` and the async order
    ``(webhook_url, event_types, intent_id, portfolio_id, expires_in_hours)``. A URL as
    first argument selects the async reading; the other positional values are then
    placed by type (a list is ``event_types``, a number ``expires_in_hours``). Keywords
    keep their names in both styles.
    """
    if target is not None and "://" in target:
        listed = [v for v in (portfolio_id, event_types) if isinstance(v, list)]
        intent_id = intent_id or (event_types if isinstance(event_types, str) else None)
        portfolio_id = (portfolio_id if isinstance(portfolio_id, str) else None) or webhook_url
        event_types = listed[0] if listed else None
        webhook_url = target
        if isinstance(expires_at, int | float):
            expires_in_hours, expires_at = float(expires_at), None
        elif expires_in_hours is None and expires_at is None:
            expires_in_hours = 24.0  # the async reference's default
    else:
        intent_id = intent_id or target
    if isinstance(portfolio_id, list) or isinstance(event_types, str):
        raise TypeError("subscribe(intent_id, portfolio_id, event_types, webhook_url, expires_at)")
    if isinstance(expires_at, int | float):
        expires_in_hours, expires_at = float(expires_at), None
    if expires_in_hours is not None:
        expires_at = utcnow() + dt.timedelta(hours=expires_in_hours)
    body: dict[str, Any] = {
        "intent_id": intent_id,
        "portfolio_id": portfolio_id,
        "subscriber_id": ctx.agent_id,
        "event_types": [value_of(t) for t in event_types or []],
        "webhook_url": webhook_url,
        "expires_at": iso(expires_at),
    }
    return Call("POST", api("subscriptions"), model(IntentSubscription), json=body, create=True)


def get_subscriptions(
    ctx: Context, /, intent_id: str | None = None, portfolio_id: str | None = None
) -> Call[list[IntentSubscription]]:
    return Call(
        "GET",
        api("subscriptions"),
        models(IntentSubscription, "subscriptions"),
        params={"intent_id": intent_id, "portfolio_id": portfolio_id},
    )


def unsubscribe(ctx: Context, /, subscription_id: str) -> Call[None]:
    return Call("DELETE", api("subscriptions", subscription_id), nothing)
