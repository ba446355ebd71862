"""RFC-0001 routes: intents, state, status, events, agents. Shape only; rules live in
``services.intents``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import MediaType, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.models import (
    AssignAgentRequest,
    EventCreateRequest,
    IntentCreateRequest,
    IntentStatus,
    StatePatchRequest,
    StatusChangeRequest,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, if_match, json_response
from openintent.server.services.events import list_events_json
from openintent.server.services.intents import IntentService

__all__ = ["CONTROLLERS", "IntentController"]

Req = Request[Any, Any, Any]


class IntentController(ApiController):
    path = "/api/v1/intents"
    tags = ["intents"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/", dto=CattrsDTO[IntentCreateRequest], status_code=200)
    async def create_intent(
        self,
        request: Req,
        data: JSONBody[IntentCreateRequest],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        created = await intents.create_json(principal_of(request), data, key)
        return Response(content=created, media_type=MediaType.JSON)

    @get("/")
    async def list_intents(
        self,
        request: Req,
        intents: NamedDependency[IntentService],
        status: FromQuery[IntentStatus | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        access = request.app.state.services.get("access")
        items, total = await intents.list_intents(
            status=status,
            limit=limit,
            offset=offset,
            readable=access.readable_clause(principal_of(request)),
        )
        return json_response({"intents": items, "total": total, "limit": limit, "offset": offset})

    @get("/{intent_id:str}")
    async def get_intent(
        self, intent_id: FromPath[str], intents: NamedDependency[IntentService]
    ) -> Response[bytes]:
        return Response(content=await intents.get_json(intent_id), media_type=MediaType.JSON)

    @post("/{intent_id:str}/state", dto=CattrsDTO[StatePatchRequest], status_code=200)
    async def patch_state(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[StatePatchRequest],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        version = if_match(request)
        patched = await intents.patch_state_json(principal_of(request), intent_id, version, data)
        return Response(content=patched, media_type=MediaType.JSON)

    @post("/{intent_id:str}/status", dto=CattrsDTO[StatusChangeRequest], status_code=200)
    async def set_status(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[StatusChangeRequest],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        version = if_match(request)
        changed = await intents.set_status_json(principal_of(request), intent_id, version, data)
        return Response(content=changed, media_type=MediaType.JSON)

    @get("/{intent_id:str}/events")
    async def get_events(
        self,
        intent_id: FromPath[str],
        intents: NamedDependency[IntentService],
        event_type: FromQuery[str | None] = None,
        since: FromQuery[dt.datetime | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        await intents.require(intent_id)
        if since is not None and since.tzinfo is not None:
            since = since.astimezone(dt.UTC).replace(tzinfo=None)
        body = await list_events_json(
            intents.db, intent_id, event_type=event_type, since=since, limit=limit, offset=offset
        )
        return Response(content=body, media_type=MediaType.JSON)

    @post("/{intent_id:str}/events", dto=CattrsDTO[EventCreateRequest], status_code=200)
    async def log_event(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[EventCreateRequest],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        return json_response(await intents.log_event(principal_of(request), intent_id, data))

    @get("/{intent_id:str}/agents")
    async def list_agents(
        self, intent_id: FromPath[str], intents: NamedDependency[IntentService]
    ) -> Response[bytes]:
        return json_response(await intents.list_agents(intent_id))

    @post("/{intent_id:str}/agents", dto=CattrsDTO[AssignAgentRequest], status_code=200)
    async def assign_agent(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[AssignAgentRequest],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        return json_response(await intents.assign(principal_of(request), intent_id, data))

    @delete("/{intent_id:str}/agents/{agent_id:str}", status_code=200)
    async def unassign_agent(
        self,
        request: Req,
        intent_id: FromPath[str],
        agent_id: FromPath[str],
        intents: NamedDependency[IntentService],
    ) -> Response[bytes]:
        await intents.unassign(principal_of(request), intent_id, agent_id)
        return json_response({"message": "Agent unassigned"})


CONTROLLERS: list[Any] = [IntentController]
