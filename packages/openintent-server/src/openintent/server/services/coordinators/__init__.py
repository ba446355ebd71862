"""RFC-0013 coordinators: leases with liveness and failover, decision records, guardrails.

* ``service``: ``CoordinatorService`` (reads and shared lookups), assembled from
  ``lifecycle`` (acquire, heartbeat, pause / resume / release / handoff, failover),
  ``decisions`` (decision records) and ``guardrails`` (the checks the tasks area and
  cost writes ask for);
* ``records``: status at a time, row-to-wire mappings, pure checks, spend in USD.

Helpers shared with the tasks area are in ``services/tasks_common.py``.
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.coordinators.records import lease_from_row, spent_usd
from openintent.server.services.coordinators.service import CoordinatorService

__all__ = ["CoordinatorService", "install", "lease_from_row", "spent_usd"]


def install(services: Services) -> None:
    coordinators = CoordinatorService(services)
    tasks = services.registry.get("tasks")
    if tasks is not None:
        # One queue of escalations: a task write that trips a guardrail waits for both.
        coordinators.followups = tasks.followups
    services.add("coordinators", coordinators)
    services.intents.guards.append(coordinators.on_intent_write)
    governance = services.registry.get("governance")
    if governance is not None:
        # ``GET /intents/{id}/decisions`` lists the records this area stores.
        governance.decision_source = coordinators.decisions
