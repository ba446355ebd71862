"""RFC-0015 routes: agent memory. Shape only; rules live in ``services.memory``.

Reference routes keep their shapes: 200 on create, the per-agent listing a bare array,
``{"status": "deleted", "entry_id"}`` on delete, 428 without ``If-Match``. RFC routes
the reference lacks: ``GET /api/v1/memory`` (``{"entries", "total", "limit",
"offset"}``), ``POST``/``DELETE /api/v1/memory/batch``, ``/api/v1/memory/namespaces``,
``/api/v1/agents/{agent_id}/memory/summary``. A stale ``If-Match`` answers 409 with
``current_version`` and the entry as it is now (``current``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.core.converter import structure, to_wire
from openintent.exceptions import NotFoundError, ValidationError
from openintent.models import MemoryEntryCreateRequest, MemoryEntryUpdateRequest, MemoryType
from openintent.server.api.base import ApiController
from openintent.server.api.support import bound
from openintent.server.http.auth import principal_of
from openintent.server.http.body import check_content_type, check_model, decode_json
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.errors import error_response
from openintent.server.http.responses import json_response
from openintent.server.services._checks import invalid
from openintent.server.services.memory import MemoryConflict, MemoryFilter, MemoryService

__all__ = ["CONTROLLERS", "AgentMemoryController", "MemoryController"]

Req = Request[Any, Any, Any]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Offset = Annotated[int, QueryParameter(ge=0)]
MAX_BATCH = 100


def _conflict(_: Req, exc: MemoryConflict) -> Response[bytes]:
    return error_response(
        409,
        {
            "detail": exc.message,
            "message": exc.message,
            "current_version": exc.current_version,
            "current": to_wire(exc.current),
        },
    )


def _version(request: Req) -> int:
    """``If-Match: <int>``; the reference answers 428 when it is absent or not a number."""
    raw = request.headers.get("if-match", "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationError("If-Match header required", status_code=428)
    return int(raw)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in value.split(",") if t.strip()) if value else ()


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


async def _json_object(request: Req) -> dict[str, Any]:
    check_content_type(request.headers.get("content-type"))
    document = decode_json(await request.body() or b"{}")
    if not isinstance(document, dict):
        raise invalid("body", "must be a JSON object")
    return document


def _list_of(document: dict[str, Any], key: str) -> list[Any]:
    items = document.get(key)
    if not isinstance(items, list) or not items:
        raise invalid(key, "must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise invalid(key, f"at most {MAX_BATCH} items per batch")
    return items


class _MemoryArea(ApiController):
    tags = ["memory"]  # noqa: RUF012 - litestar reads the class attribute
    dependencies = {"memory": bound("memory")}  # noqa: RUF012
    exception_handlers = {MemoryConflict: _conflict}  # noqa: RUF012


class MemoryController(_MemoryArea):
    path = "/api/v1/memory"

    @post("/", dto=CattrsDTO[MemoryEntryCreateRequest], status_code=200)
    async def store_memory(
        self,
        request: Req,
        data: JSONBody[MemoryEntryCreateRequest],
        memory: NamedDependency[MemoryService],
    ) -> Response[bytes]:
        """Create the entry, or update the one stored under (agent, namespace, key)."""
        return json_response(await memory.store(principal_of(request), data))

    @get("/")
    async def query_memory(
        self,
        request: Req,
        memory: NamedDependency[MemoryService],
        agent_id: FromQuery[str | None] = None,
        namespace: FromQuery[str | None] = None,
        key: FromQuery[str | None] = None,
        memory_type: FromQuery[MemoryType | None] = None,
        tags: FromQuery[str | None] = None,
        tags_any: FromQuery[str | None] = None,
        task_id: Annotated[str | None, QueryParameter(name="scope.task_id")] = None,
        intent_id: Annotated[str | None, QueryParameter(name="scope.intent_id")] = None,
        pinned: FromQuery[bool | None] = None,
        updated_after: FromQuery[dt.datetime | None] = None,
        updated_before: FromQuery[dt.datetime | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response[bytes]:
        f = MemoryFilter(
            agent_id=agent_id,
            namespace=namespace,
            key=key,
            memory_type=memory_type,
            tags=_csv(tags),
            tags_any=_csv(tags_any),
            task_id=task_id,
            intent_id=intent_id,
            pinned=pinned,
            updated_after=_naive(updated_after),
            updated_before=_naive(updated_before),
        )
        entries, total = await memory.find(principal_of(request), f, limit, offset)
        return json_response({"entries": entries, "total": total, "limit": limit, "offset": offset})

    @post("/batch", status_code=200)
    async def store_batch(
        self, request: Req, memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        """``{"entries": [<create body>, ...]}``: all stored, or none."""
        items = _list_of(await _json_object(request), "entries")
        reqs = []
        for item in items:
            parsed = structure(item, MemoryEntryCreateRequest)
            check_model(parsed)
            reqs.append(parsed)
        return json_response({"entries": await memory.store_many(principal_of(request), reqs)})

    @delete("/batch", status_code=200)
    async def delete_batch(
        self, request: Req, memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        """``{"entry_ids": [...]}``: all deleted, or none."""
        ids = _list_of(await _json_object(request), "entry_ids")
        if not all(isinstance(i, str) and i and "\x00" not in i for i in ids):
            raise invalid("entry_ids", "must be entry ids")
        count = await memory.delete_many(principal_of(request), ids)
        return json_response({"status": "deleted", "deleted": count, "entry_ids": ids})

    @get("/namespaces")
    async def list_namespaces(
        self, request: Req, memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        return json_response({"namespaces": await memory.namespaces(principal_of(request))})

    @get("/namespaces/{namespace:str}")
    async def get_namespace(
        self, request: Req, namespace: FromPath[str], memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        found = await memory.namespaces(principal_of(request), namespace)
        if not found:
            raise NotFoundError("Memory namespace not found", status_code=404)
        return json_response(found[0])

    @get("/{entry_id:str}")
    async def get_memory(
        self, request: Req, entry_id: FromPath[str], memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        return json_response(await memory.get(principal_of(request), entry_id))

    @patch("/{entry_id:str}", dto=CattrsDTO[MemoryEntryUpdateRequest], status_code=200)
    async def update_memory(
        self,
        request: Req,
        entry_id: FromPath[str],
        data: JSONBody[MemoryEntryUpdateRequest],
        memory: NamedDependency[MemoryService],
    ) -> Response[bytes]:
        version = _version(request)
        return json_response(await memory.update(principal_of(request), entry_id, version, data))

    @delete("/{entry_id:str}", status_code=200)
    async def delete_memory(
        self, request: Req, entry_id: FromPath[str], memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        await memory.delete(principal_of(request), entry_id)
        return json_response({"status": "deleted", "entry_id": entry_id})


class AgentMemoryController(_MemoryArea):
    path = "/api/v1/agents/{agent_id:str}/memory"

    @get("/")
    async def list_agent_memory(
        self,
        request: Req,
        agent_id: FromPath[str],
        memory: NamedDependency[MemoryService],
        namespace: FromQuery[str | None] = None,
        memory_type: FromQuery[MemoryType | None] = None,
        tags: FromQuery[str | None] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response[bytes]:
        """A bare array (reference shape); ``tags`` (all must match) and ``offset`` work."""
        f = MemoryFilter(
            agent_id=agent_id, namespace=namespace, memory_type=memory_type, tags=_csv(tags)
        )
        entries, _ = await memory.find(principal_of(request), f, limit, offset)
        return json_response(entries)

    @get("/summary")
    async def memory_summary(
        self, request: Req, agent_id: FromPath[str], memory: NamedDependency[MemoryService]
    ) -> Response[bytes]:
        return json_response(await memory.summary(principal_of(request), agent_id))


CONTROLLERS: list[Any] = [MemoryController, AgentMemoryController]
