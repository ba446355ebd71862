"""Tables of RFC-0006 part C: webhook subscriptions and their deliveries."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Boolean, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "SubscriptionRow", "WebhookCursorRow", "WebhookDeliveryRow"]


class SubscriptionRow(Table, tablename="oi_subscriptions"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    subscriber_id = Text(default="")
    intent_id = Text(null=True, default=None, index=True)
    portfolio_id = Text(null=True, default=None, index=True)
    event_types = Text(default="[]")
    webhook_url = Text(null=True, default=None)
    active = Boolean(default=True)
    expires_at = Timestamp(null=True, default=None)
    created_by = Text(default="")
    created_at = Timestamp()


class WebhookDeliveryRow(Table, tablename="oi_webhook_deliveries"):
    """One event to POST to one subscription's URL; retried until delivered or given up.

    ``claimed_until`` is a short lease: the process sending it owns the row until then,
    so several processes never send the same attempt twice at once.
    """

    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    subscription_id = Varchar(length=36, index=True)
    event_id = Varchar(length=36)
    webhook_url = Text()
    body = Text()
    status = Varchar(length=16, default="pending")
    attempts = Integer(default=0)
    next_attempt_at = Timestamp()
    claimed_until = Timestamp(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamp()
    delivered_at = Timestamp(null=True, default=None)


class WebhookCursorRow(Table, tablename="oi_webhook_cursor"):
    """How far the event log has been matched against subscriptions (one row, id 1)."""

    id = Integer(primary_key=True)
    last_seq = BigInt(default=0)


INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_webhook_deliveries_once "
    "ON oi_webhook_deliveries (subscription_id, event_id)",
    "CREATE INDEX IF NOT EXISTS oi_webhook_deliveries_due "
    "ON oi_webhook_deliveries (status, next_attempt_at)",
]
