"""RFC-0017 rules: triggers that actually fire.

Records keep the reference's shape and CRUD rules (200 on create, bare arrays, PATCH
compare-and-set on ``If-Match``). What the reference only stores is done here:

* ``type``, ``deduplication`` and the condition's fit to the type are validated (422:
  a bad cron, an unknown timezone, a webhook without ``path``); a webhook ``(path,
  method)`` belongs to one trigger (409).
* Schedule triggers fire at each cron match (five fields, or six with seconds) in their
  ``timezone``, inside ``[starts_at, ends_at]``; ``at`` fires once, then disables the
  trigger. Due times missed while no server ran are not back-filled (one ``missed``
  history entry records the gap). :meth:`TriggerService.run_schedules` is the
  scheduler's job; each due time is claimed by compare-and-set and by its unique
  firing claim, so several processes fire it once.
* Event triggers: ``triggers.events``. Webhook triggers: :meth:`receive`
  behind ``/webhooks/<path>`` (no API key), HMAC-SHA256 of the raw body with the
  trigger's ``secret`` in ``X-OpenIntent-Signature: sha256=<hex>`` when a secret is
  set (401 otherwise), ``transform`` expanded into the intent's state, 202 with the
  intent or 200 ``deduplicated``, at most ``WEBHOOK_RATE_PER_MINUTE`` per trigger (429).
* Manual fire creates the intent too (200, ``{"status": "fired", "fire_count",
  "intent_id", "intent"}``); a disabled trigger never fires (409).
* Firing (any source) is ``triggers.firing``; its history is served at
  ``GET /api/v1/triggers/{id}/history`` and kept after the trigger is deleted.

The webhook secret is write-only: stored outside ``condition`` and never returned. A
PATCHed condition without a ``secret`` key keeps the stored secret (clients cannot read
it back to resend it); ``"secret": null`` removes it.

Modules: ``service`` (``TriggerService``: CRUD, manual fire), ``webhooks``, ``jobs``
(schedules, events, queue), ``firing`` (one firing, from any source), ``events``
(event triggers' tail of the log), ``records``.
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.triggers.records import signature
from openintent.server.services.triggers.service import TriggerService
from openintent.server.services.triggers.webhooks import WEBHOOK_RATE_PER_MINUTE

__all__ = ["WEBHOOK_RATE_PER_MINUTE", "TriggerService", "install", "signature"]


def install(services: Services) -> None:
    services.add("triggers", TriggerService(services.db, services.intents))
