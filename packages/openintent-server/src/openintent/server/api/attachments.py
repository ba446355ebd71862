"""RFC-0005 routes: attachment records of an intent. Shape only; rules live in
``services.attachments``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from openintent.models import AttachmentCreateRequest
from openintent.server.api.base import ApiController
from openintent.server.http.auth import principal_of
from openintent.server.http.dto import CattrsDTO
from openintent.server.http.responses import idempotency_key, json_response
from openintent.server.services.attachments import AttachmentService

__all__ = ["CONTROLLERS", "AttachmentController"]

Req = Request[Any, Any, Any]


class AttachmentController(ApiController):
    path = "/api/v1/intents/{intent_id:str}/attachments"
    tags = ["attachments"]  # noqa: RUF012 - litestar reads the class attribute

    @get("/")
    async def list_attachments(
        self, intent_id: FromPath[str], attachments: NamedDependency[AttachmentService]
    ) -> Response[bytes]:
        return json_response(await attachments.for_intent(intent_id))

    @post("/", dto=CattrsDTO[AttachmentCreateRequest], status_code=200)
    async def add_attachment(
        self,
        request: Req,
        intent_id: FromPath[str],
        data: JSONBody[AttachmentCreateRequest],
        attachments: NamedDependency[AttachmentService],
    ) -> Response[bytes]:
        key = idempotency_key(request)
        return json_response(await attachments.add(principal_of(request), intent_id, data, key))

    @delete("/{attachment_id:str}", status_code=204)
    async def delete_attachment(
        self,
        request: Req,
        intent_id: FromPath[str],
        attachment_id: FromPath[str],
        attachments: NamedDependency[AttachmentService],
    ) -> None:
        await attachments.delete(principal_of(request), intent_id, attachment_id)


CONTROLLERS: list[Any] = [AttachmentController]
