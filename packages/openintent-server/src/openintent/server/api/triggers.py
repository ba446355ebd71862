"""RFC-0017 routes: triggers, their history, and the webhook receiver. Shape only;
rules live in ``services.triggers``.

The six reference paths keep their shapes; ``GET …/{id}/history`` and the ``enabled``
list filter are RFC additions. The webhook receiver lives at ``/webhooks/<path>``,
outside the API-key surface (its trigger's secret authenticates the sender) and apart
from ``/api/v1/triggers``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, route
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from openintent.exceptions import OpenIntentError
from openintent.models import (
    TriggerCreateRequest,
    TriggerDeleteResponse,
    TriggerType,
    TriggerUpdateRequest,
)
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.body import INT64_MAX, check_content_type, decode_json
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.triggers import TriggerService

__all__ = ["CONTROLLERS", "TriggerController", "WebhookController"]

Req = Request[Any, Any, Any]


def _required_if_match(request: Req) -> int:
    """The reference's rule for trigger updates: a bare integer, else 428."""
    raw = request.headers.get("if-match", "").strip()
    if not (raw.isascii() and raw.isdigit()):
        raise OpenIntentError("If-Match header required", status_code=428)
    return min(int(raw), INT64_MAX) if len(raw) < 100 else INT64_MAX


class TriggerController(ApiController):
    path = "/api/v1/triggers"
    tags = ["triggers"]  # noqa: RUF012 - litestar reads the class attribute

    @post("/", dto=CattrsDTO[TriggerCreateRequest], status_code=200)
    async def create_trigger(
        self,
        request: Req,
        data: JSONBody[TriggerCreateRequest],
        triggers: NamedDependency[TriggerService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await triggers.create(principal_of(request), data, key))

    @get("/")
    async def list_triggers(
        self,
        triggers: NamedDependency[TriggerService],
        namespace: FromQuery[str | None] = None,
        trigger_type: Annotated[TriggerType | None, QueryParameter(name="type")] = None,
        enabled: FromQuery[bool | None] = None,
    ) -> Response[bytes]:
        found = await triggers.find(namespace=namespace, trigger_type=trigger_type, enabled=enabled)
        return json_response(found)

    @get("/{trigger_id:str}")
    async def get_trigger(
        self, trigger_id: FromPath[str], triggers: NamedDependency[TriggerService]
    ) -> Response[bytes]:
        return json_response(await triggers.get(trigger_id))

    @patch("/{trigger_id:str}", dto=CattrsDTO[TriggerUpdateRequest])
    async def update_trigger(
        self,
        request: Req,
        trigger_id: FromPath[str],
        data: JSONBody[TriggerUpdateRequest],
        triggers: NamedDependency[TriggerService],
    ) -> Response[bytes]:
        version = _required_if_match(request)
        return json_response(
            await triggers.update(principal_of(request), trigger_id, version, data)
        )

    @post("/{trigger_id:str}/fire", status_code=200)
    async def fire_trigger(
        self, request: Req, trigger_id: FromPath[str], triggers: NamedDependency[TriggerService]
    ) -> Response[bytes]:
        return json_response(await triggers.fire(principal_of(request), trigger_id))

    @get("/{trigger_id:str}/history")
    async def trigger_history(
        self,
        trigger_id: FromPath[str],
        triggers: NamedDependency[TriggerService],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Response[bytes]:
        return json_response(await triggers.history(trigger_id, limit=limit, offset=offset))

    @delete("/{trigger_id:str}", status_code=200)
    async def delete_trigger(
        self, request: Req, trigger_id: FromPath[str], triggers: NamedDependency[TriggerService]
    ) -> Response[bytes]:
        await triggers.delete(principal_of(request), trigger_id)
        return json_response(TriggerDeleteResponse(trigger_id=trigger_id))


class WebhookController(Controller):
    """Unauthenticated by API key: a webhook trigger's ``secret`` signs deliveries."""

    path = "/webhooks"
    tags = ["triggers"]  # noqa: RUF012 - litestar reads the class attribute

    @route(
        "/{hook_path:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"], status_code=202
    )
    async def receive_webhook(
        self, request: Req, hook_path: FromPath[str], triggers: NamedDependency[TriggerService]
    ) -> Response[bytes]:
        body = await request.body()
        content_type = request.headers.get("content-type")
        if body.strip():
            check_content_type(content_type)
            payload = decode_json(body)
        else:
            payload = {}
        status, receipt = await triggers.receive(
            request.method,
            hook_path,
            body,
            {k.lower(): v for k, v in request.headers.items()},
            dict(request.query_params.items()),
            payload,
        )
        return json_response(receipt, status)


CONTROLLERS: list[Any] = [TriggerController, WebhookController]
