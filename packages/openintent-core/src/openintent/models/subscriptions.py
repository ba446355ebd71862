"""RFC-0006: webhook subscriptions and webhook deliveries.

The reference server has no subscription routes; these shapes are the RFC's, with
the camelCase timestamp names the reference client reads emitted beside them.
SSE frames carry the RFC-0001 objects and are handled by the streaming code.
"""

from __future__ import annotations

import datetime as dt

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models.enums import EventType
from openintent.models.intents import IntentEvent

__all__ = ["IntentSubscription", "SubscriptionCreateRequest", "WebhookDelivery"]


@attrs.define
class IntentSubscription(WireModel):
    """A webhook subscription scoped to one intent, one portfolio, or everything.

    An empty ``event_types`` list means every event type.
    """

    id: str
    subscriber_id: str = wire_field(default="", aliases=("subscriberId",))
    intent_id: str | None = wire_field(default=None, aliases=("intentId",))
    portfolio_id: str | None = wire_field(default=None, aliases=("portfolioId",))
    event_types: list[EventType | str] = wire_field(factory=list, aliases=("eventTypes",))
    webhook_url: str | None = wire_field(default=None, aliases=("webhookUrl",))
    active: bool = True
    expires_at: dt.datetime | None = wire_field(
        default=None, aliases=("expiresAt",), emit_aliases=("expiresAt",)
    )
    created_at: dt.datetime | None = wire_field(
        default=None, aliases=("createdAt",), emit_aliases=("createdAt",)
    )

    def matches(self, event_type: EventType | str) -> bool:
        """Whether this subscription wants events of ``event_type``."""
        return not self.event_types or event_type in self.event_types

    def is_live_at(self, now: dt.datetime) -> bool:
        """Active and not past ``expires_at`` at ``now`` (naive UTC)."""
        return self.active and (self.expires_at is None or now < self.expires_at)


@attrs.define
class WebhookDelivery(WireModel):
    """Body POSTed to a subscriber's ``webhook_url`` for one event."""

    subscription_id: str
    event: IntentEvent


# -- request bodies -------------------------------------------------------------------


@attrs.define
class SubscriptionCreateRequest(WireModel):
    """Body of ``POST /subscriptions``; ``subscriber_id`` falls back to the caller."""

    intent_id: str | None = None
    portfolio_id: str | None = None
    subscriber_id: str | None = None
    event_types: list[EventType | str] = attrs.field(factory=list)
    webhook_url: str | None = None
    expires_at: dt.datetime | None = None
