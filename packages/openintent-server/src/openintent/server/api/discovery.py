"""Unauthenticated documents: discovery (spec README C2), server config, health."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from openintent.server.http.responses import json_response

__all__ = ["DiscoveryController"]

RFCS = [
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
    "0016",
    "0017",
]
CAPABILITIES = [
    "intents",
    "events",
    "agents",
    "state-patches",
    "optimistic-concurrency",
    "portfolios",
    "attachments",
    "subscriptions",
    "cost-tracking",
    "retry-policies",
    "leasing",
    "governance",
    "governance-enforcement",
    "access-control",
    "tools",
]
FEATURES = {
    "intents": True,
    "events": True,
    "agents": True,
    "statePatches": True,
    "optimisticConcurrency": True,
    "leasing": True,
    "governance": True,
    "governanceEnforcement": True,
    "portfolios": True,
    "attachments": True,
    "subscriptions": True,
    "costTracking": True,
    "retryPolicies": True,
    "accessControl": True,
}


class DiscoveryController(Controller):
    tags = ["discovery"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/.well-known/openintent.json")
    async def discovery(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        config = request.app.state.config
        return json_response(
            {
                "protocol": "OpenIntent Coordination Protocol",
                "version": config.protocol_version,
                "rfcUrls": [f"/rfc/{n}" for n in RFCS],
                "capabilities": CAPABILITIES,
                "openApiUrl": "/openapi.json",
            }
        )

    @get("/.well-known/openintent-compat.json")
    async def compat(self) -> Response[bytes]:
        from openintent.server import __version__

        return json_response(
            {
                "implementation": "OpenIntent Python Server (litestar)",
                "version": __version__,
                "rfcCompliance": {f"RFC-{n}": "full" for n in RFCS},
                "features": FEATURES,
            }
        )

    @get("/api/v1/server/config")
    async def server_config(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        config = request.app.state.config
        return json_response(
            {
                "protocol_version": config.protocol_version,
                "suspension": {"default_retry_policy": config.suspension_default_retry_policy},
            }
        )

    @get("/healthz")
    async def healthz(self) -> Response[bytes]:
        return json_response({"status": "ok"})

    @get("/readyz")
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        db = request.app.state.db
        await db.last_stream_seq()  # the database answers
        return json_response({"status": "ready"})

    @get("/openapi.json", include_in_schema=False)
    async def openapi_json(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return json_response(request.app.openapi_schema.to_schema())
