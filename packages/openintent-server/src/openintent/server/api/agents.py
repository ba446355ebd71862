"""RFC-0016 routes: agent registry, heartbeats, status, deregistration. Shape only;
rules live in ``services.agents``.

The reference's five paths keep their shapes (200 on register, bare arrays, the
``{"status": "ok", ...}`` heartbeat reply with extra keys); the RFC's own paths are
served beside them: ``POST /api/v1/agents`` (201 + ``ETag``), ``GET`` and ``DELETE
/api/v1/agents/{id}``, and the agent's lifecycle log at ``GET …/{id}/events``.
``GET …/{id}/subscribe`` (SSE) is in ``api/streams.py``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.exceptions import ValidationError
from openintent.models import (
    AgentRecord,
    AgentRegisterRequest,
    AgentStatus,
    AgentStatusUpdateRequest,
    Heartbeat,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import json_response
from openintent.server.services.agents import AgentService

__all__ = ["CONTROLLERS", "AgentController"]

Req = Request[Any, Any, Any]
_ENTITY_TAG = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')


def _with_etag(record: AgentRecord, status_code: int = 200) -> Response[bytes]:
    response = json_response(record, status_code)
    response.headers["ETag"] = f'"{record.version}"'
    return response


def _optional_if_match(request: Req) -> int | None:
    """``If-Match`` is optional here (the reference client never sends it); when sent it
    must name a version: ``3``, ``"3"`` or ``W/"3"``."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    match = _ENTITY_TAG.match(raw.strip())
    if match is None:
        raise ValidationError("If-Match must be a version number", status_code=400)
    return int(match[1])


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _statuses(value: str | None) -> list[AgentStatus]:
    found = []
    for item in _split(value):
        try:
            found.append(AgentStatus(item))
        except ValueError:
            allowed = ", ".join(s.value for s in AgentStatus)
            msg = f"unknown status {item!r}; expected {allowed}"
            raise ValidationError(msg, errors=[{"loc": ["query", "status"], "msg": msg}]) from None
    return found


class AgentController(ApiController):
    path = "/api/v1/agents"
    tags = ["agents"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/register", dto=CattrsDTO[AgentRegisterRequest], status_code=200)
    async def register_agent(
        self,
        request: Req,
        data: JSONBody[AgentRegisterRequest],
        agents: NamedDependency[AgentService],
    ) -> Response[bytes]:
        record, _ = await agents.register(principal_of(request), data)
        return json_response(record)

    @post("/", dto=CattrsDTO[AgentRegisterRequest], status_code=201)
    async def create_agent(
        self,
        request: Req,
        data: JSONBody[AgentRegisterRequest],
        agents: NamedDependency[AgentService],
    ) -> Response[bytes]:
        record, _ = await agents.register(principal_of(request), data, refuse_live=True)
        return _with_etag(record, 201)

    @get("/")
    async def list_agents(
        self,
        agents: NamedDependency[AgentService],
        status: FromQuery[str | None] = None,
        role_id: FromQuery[str | None] = None,
        capabilities: FromQuery[str | None] = None,
        min_available_capacity: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> Response[bytes]:
        records = await agents.find(
            statuses=_statuses(status),
            role_id=role_id,
            capabilities=_split(capabilities),
            min_available_capacity=min_available_capacity,
        )
        return json_response(records)

    @get("/{agent_id:str}")
    async def get_agent(
        self, agent_id: FromPath[str], agents: NamedDependency[AgentService]
    ) -> Response[bytes]:
        return _with_etag(await agents.get(agent_id))

    @get("/{agent_id:str}/record")
    async def get_agent_record(
        self, agent_id: FromPath[str], agents: NamedDependency[AgentService]
    ) -> Response[bytes]:
        return json_response(await agents.get(agent_id))

    @get("/{agent_id:str}/events")
    async def get_agent_events(
        self,
        agent_id: FromPath[str],
        agents: NamedDependency[AgentService],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        return json_response(await agents.events(agent_id, limit=limit, offset=offset))

    @post("/{agent_id:str}/heartbeat", dto=CattrsDTO[Heartbeat], status_code=200)
    async def agent_heartbeat(
        self,
        request: Req,
        agent_id: FromPath[str],
        data: JSONBody[Heartbeat],
        agents: NamedDependency[AgentService],
    ) -> Response[bytes]:
        return json_response(await agents.heartbeat(principal_of(request), agent_id, data))

    @patch("/{agent_id:str}/status", dto=CattrsDTO[AgentStatusUpdateRequest])
    async def update_agent_status(
        self,
        request: Req,
        agent_id: FromPath[str],
        data: JSONBody[AgentStatusUpdateRequest],
        agents: NamedDependency[AgentService],
    ) -> Response[bytes]:
        version = _optional_if_match(request)
        record = await agents.set_status(principal_of(request), agent_id, data, version)
        return _with_etag(record)

    @delete("/{agent_id:str}", status_code=200)
    async def deregister_agent(
        self, request: Req, agent_id: FromPath[str], agents: NamedDependency[AgentService]
    ) -> Response[bytes]:
        return _with_etag(await agents.deregister(principal_of(request), agent_id))


CONTROLLERS: list[Any] = [AgentController]
