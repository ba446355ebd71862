"""Webhook deliveries (``/webhooks/<path>``, no API key): signature, rate limit,
``transform``, firing."""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from openintent.exceptions import AuthenticationError, ConflictError, NotFoundError, RateLimitError
from openintent.models import WebhookReceipt, render_template
from openintent.server.services.triggers.firing import Cause, acting_for, trigger_from_row
from openintent.server.services.triggers.records import signature
from openintent.server.store.triggers_tables import TriggerFiringRow, TriggerRow

__all__ = ["SIGNATURE_HEADERS", "WEBHOOK_RATE_PER_MINUTE", "TriggerWebhooks"]

WEBHOOK_RATE_PER_MINUTE = 120
SIGNATURE_HEADERS = ("x-openintent-signature", "x-hub-signature-256")
# Never copied into template variables: credentials of the sender.
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "x-api-key", *SIGNATURE_HEADERS})


class TriggerWebhooks:
    """Webhook receipt (mixed into ``TriggerService``)."""

    async def receive(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        payload: Any,
    ) -> tuple[int, WebhookReceipt]:
        """A webhook delivery; ``payload`` is the decoded body. Returns status and answer."""
        path = "/" + path.strip("/")
        rows = await TriggerRow.select().where(
            (TriggerRow.webhook_path == path) & (TriggerRow.webhook_method == method.upper())
        )
        if not rows:
            raise NotFoundError("No webhook trigger listens here", status_code=404)
        row = rows[0]
        secret = row["secret"]
        if secret is not None:
            sent = next((headers[h] for h in SIGNATURE_HEADERS if h in headers), "")
            if not hmac.compare_digest(sent.strip().encode(), signature(secret, body).encode()):
                raise AuthenticationError("Invalid or missing webhook signature", status_code=401)
        if not row["enabled"]:
            raise ConflictError("Trigger is disabled", status_code=409)
        now = self.clock()
        recent = await TriggerFiringRow.count().where(
            (TriggerFiringRow.trigger_id == row["trigger_id"])
            & (TriggerFiringRow.source == "webhook")
            & (TriggerFiringRow.fired_at > now - dt.timedelta(minutes=1))
        )
        if recent >= WEBHOOK_RATE_PER_MINUTE:
            raise RateLimitError("Too many webhook deliveries for this trigger", status_code=429)
        variables = {
            "body": payload,
            "headers": {k: v for k, v in headers.items() if k not in _PRIVATE_HEADERS},
            "query": dict(query),
        }
        condition = trigger_from_row(row).condition
        context: dict[str, Any] = {}
        if condition is not None and condition.transform:
            context = render_template(dict(condition.transform), variables)
        cause = Cause(
            source="webhook",
            claim=f"{row['trigger_id']}|webhook|{uuid.uuid4()}",
            principal=acting_for(row),
            variables=variables,
            context=context,
        )
        async with self.db.write():
            outcome = await self.firer.fire(row["trigger_id"], cause, now)
        if outcome.outcome == "missing":
            raise NotFoundError("No webhook trigger listens here", status_code=404)
        if outcome.outcome == "disabled":
            raise ConflictError("Trigger is disabled", status_code=409)
        if outcome.intent is not None:
            return 202, WebhookReceipt(trigger_id=row["trigger_id"], intent_id=outcome.intent.id)
        return 200, WebhookReceipt(
            trigger_id=row["trigger_id"], intent_id=outcome.blocking_intent_id, deduplicated=True
        )
