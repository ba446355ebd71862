"""RFC-0002 routes: children, dependencies and graph views. Shape only; rules live in
``services.graphs``.

List views answer ``{"<last path segment>": [intent, ...]}``: the reference client reads
``data.get(<key>)`` and cannot take a bare array here. Intents carry both ``parent_id``
and ``parent_intent_id``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from openintent.models import ChildIntentCreateRequest, DependencyAddRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, if_match, json_response
from openintent.server.services.graphs import GraphService

__all__ = ["CONTROLLERS", "GraphController"]

Req = Request[Any, Any, Any]


class GraphController(ApiController):
    path = "/api/v1/intents/{intent_id:str}"
    tags = ["graphs"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/children", dto=CattrsDTO[ChildIntentCreateRequest], status_code=200)
    async def create_child(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[ChildIntentCreateRequest],
        graphs: NamedDependency[GraphService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await graphs.create_child(principal_of(request), intent_id, data, key))

    @get("/children")
    async def get_children(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response({"children": await graphs.children(intent_id)})

    @get("/descendants")
    async def get_descendants(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response({"descendants": await graphs.descendants(intent_id)})

    @get("/ancestors")
    async def get_ancestors(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response({"ancestors": await graphs.ancestors(intent_id)})

    @get("/dependencies")
    async def get_dependencies(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response({"dependencies": await graphs.dependencies(intent_id)})

    @get("/dependents")
    async def get_dependents(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response({"dependents": await graphs.dependents(intent_id)})

    @post("/dependencies", dto=CattrsDTO[DependencyAddRequest], status_code=200)
    async def add_dependency(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[DependencyAddRequest],
        graphs: NamedDependency[GraphService],
    ) -> Response[bytes]:
        version = if_match(request)
        return json_response(
            await graphs.add_dependency(principal_of(request), intent_id, version, data)
        )

    @delete("/dependencies/{dependency_id:str}", status_code=200)
    async def remove_dependency(
        self,
        request: Req,
        intent_id: FromPath[str],
        dependency_id: FromPath[str],
        graphs: NamedDependency[GraphService],
    ) -> Response[bytes]:
        version = if_match(request)
        return json_response(
            await graphs.remove_dependency(principal_of(request), intent_id, version, dependency_id)
        )

    @get("/ready")
    async def get_ready(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        ready, _ = await graphs.ready_and_blocked(intent_id)
        return json_response({"ready": ready})

    @get("/blocked")
    async def get_blocked(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        _, blocked = await graphs.ready_and_blocked(intent_id)
        return json_response({"blocked": blocked})

    @get("/graph")
    async def get_graph(
        self, intent_id: FromPath[str], graphs: NamedDependency[GraphService]
    ) -> Response[bytes]:
        return json_response(await graphs.graph(intent_id))


CONTROLLERS: list[Any] = [GraphController]
