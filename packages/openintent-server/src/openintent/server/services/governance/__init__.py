"""RFC-0004/0013 rules: arbitration, decisions, escalations, approval requests, the
per-intent governance policy, and the policy's enforcement on intent writes.

Enforcement is a write guard (``services.intents.guards``), so it runs inside the
write's transaction, before the version check, as the reference orders it. The
acting identity is the caller's API key or the agent named in ``X-Agent-ID`` (the
reference compares only the key, which makes ``allowed_agents`` unusable for agents).

Cost writes (another area) ask for the ``max_cost`` check with
``WriteAttempt(principal, intent, "cost", extra={"amount": <float>})``; the recorded
total is read through :attr:`GovernanceService.cost_total`, under the intent's row
lock on PostgreSQL. RFC-0013 decision records (coordinators area)
are read through :attr:`GovernanceService.decision_source` (by default from the
coordinators service).

Modules: ``service`` (``GovernanceService``: arbitration, decisions, policy),
``requests`` (escalations, approvals), ``enforcement`` (the write guard), ``records``.
"""

from __future__ import annotations

from openintent.server.services import Services
from openintent.server.services.governance.records import PolicyRejected, recorded_cost_total
from openintent.server.services.governance.service import GovernanceService

__all__ = ["GovernanceService", "PolicyRejected", "install", "recorded_cost_total"]


def install(services: Services) -> None:
    governance = GovernanceService(services)
    services.add("governance", governance)
    services.intents.guards.append(governance.guard)
