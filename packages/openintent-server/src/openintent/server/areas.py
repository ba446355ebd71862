"""The protocol areas the server is assembled from, in routing order.

Each area ``x`` has ``api/x.py`` exposing ``CONTROLLERS`` and ``services/x.py`` exposing
``install(services)``, which builds the area's service, adds it to the registry (the
name becomes a route-handler dependency) and registers any write guards.
"""

from __future__ import annotations

__all__ = ["AREAS"]

AREAS: tuple[str, ...] = (
    "intents",
    "graphs",
    "leases",
    "governance",
    "attachments",
    "subscriptions",
    "portfolios",
    "costs",
    "retry",
    "access",
    "tasks",
    "coordinators",
    "vaults",
    "memory",
    "agents",
    "triggers",
)
