"""RFC-0014 tool proxy and registry routes (part of the vaults area). Shape only; rules
live in ``services.tools``.

Refusals answer the reference's ``{"detail": <text>}`` plus the RFC's ``error_code``,
``invocation_id``, ``status`` and ``error: {code, message}``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from openintent.exceptions import NotFoundError
from openintent.models import ToolInvokeRequest
from openintent.server.api.base import ApiController
from openintent.server.api.support import bound, query_error
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.errors import error_response
from openintent.server.http.responses import json_response
from openintent.server.services.tools import ToolRefused, ToolService

__all__ = ["ToolController"]

Req = Request[Any, Any, Any]


def _refused(_: Req, exc: ToolRefused) -> Response[bytes]:
    return error_response(exc.status_code or 403, exc.body())


class ToolController(ApiController):
    path = "/api/v1/tools"
    tags = ["vaults"]  # noqa: RUF012 - litestar reads the class attribute
    dependencies = {"tools": bound("tools")}  # noqa: RUF012
    exception_handlers = {ToolRefused: _refused}  # noqa: RUF012

    @post("/invoke", dto=CattrsDTO[ToolInvokeRequest], status_code=200)
    async def invoke_tool(
        self, request: Req, data: JSONBody[ToolInvokeRequest], tools: NamedDependency[ToolService]
    ) -> Response[bytes]:
        client_ip = request.client.host if request.client else None
        return json_response(await tools.invoke(principal_of(request), data, client_ip))

    @get("/")
    async def list_tools(self, tools: NamedDependency[ToolService]) -> Response[bytes]:
        return json_response({"tools": await tools.registry()})

    @get("/granted")
    async def granted_tools(
        self,
        request: Req,
        tools: NamedDependency[ToolService],
        agent_id: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """Tools the agent (``agent_id``, else ``X-Agent-ID``) can invoke now."""
        agent = agent_id or principal_of(request).agent_id
        if not agent:
            raise query_error("agent_id", "give agent_id or send X-Agent-ID")
        return json_response({"agent_id": agent, "tools": await tools.granted(agent)})

    @get("/{service:str}")
    async def service_tools(
        self, service: FromPath[str], tools: NamedDependency[ToolService]
    ) -> Response[bytes]:
        found = await tools.registry(service)
        if not found:
            raise NotFoundError(f"No active credential offers service '{service}'", status_code=404)
        names = list(dict.fromkeys(t for entry in found for t in entry["tools"]))
        return json_response({"service": service, "tools": names, "credentials": found})
