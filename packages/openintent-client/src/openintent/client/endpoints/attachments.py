"""RFC-0005: attachment records."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing
from openintent.client.endpoints._util import api
from openintent.models import IntentAttachment

__all__ = ["add_attachment", "delete_attachment", "get_attachments"]


def add_attachment(
    ctx: Context,
    /,
    intent_id: str,
    filename: str,
    mime_type: str | None = None,
    size: int | str | None = None,
    storage_url: str | int | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    content_type: str | None = None,
    url: str | None = None,
    size_bytes: int | None = None,
) -> Call[IntentAttachment]:
    """Record an attachment.

    Accepts the sync reference order ``(intent_id, filename, mime_type, size,
    storage_url, metadata)`` and the async one ``(intent_id, filename, content_type,
    url, size_bytes)``: a string in the fourth place is the async ``url``. The async
    names also work as keywords. The body uses the reference server's field names.
    """
    if isinstance(size, str):
        url, size_bytes = size, storage_url if isinstance(storage_url, int) else size_bytes
        size, storage_url = None, None
    location = storage_url if isinstance(storage_url, str) else url
    body = {
        "filename": filename,
        "mime_type": mime_type or content_type or "application/octet-stream",
        "size": size if isinstance(size, int) else (size_bytes or 0),
        "storage_url": location or "",
        "metadata": metadata or {},
    }
    return Call(
        "POST",
        api("intents", intent_id, "attachments"),
        model(IntentAttachment),
        json=body,
        create=True,
    )


def get_attachments(ctx: Context, /, intent_id: str) -> Call[list[IntentAttachment]]:
    return Call(
        "GET", api("intents", intent_id, "attachments"), models(IntentAttachment, "attachments")
    )


def delete_attachment(ctx: Context, /, intent_id: str, attachment_id: str) -> Call[None]:
    return Call("DELETE", api("intents", intent_id, "attachments", attachment_id), nothing)
