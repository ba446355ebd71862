"""RFC-0005: attachment metadata records (the bytes live at ``storage_url``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import omit_empty, wire_metadata

__all__ = ["AttachmentCreateRequest", "IntentAttachment"]


_MIME = wire_metadata(aliases=("content_type", "mimeType", "contentType"))
_SIZE = wire_metadata(aliases=("size_bytes", "sizeBytes"))
_URL = wire_metadata(aliases=("url", "storageUrl"))


@omit_empty("metadata")
@attrs.define
class IntentAttachment(WireModel):
    """A file reference attached to an intent.

    ``uploaded_by`` is the reference server's ``created_by``; the reference client
    reads ``uploaded_by`` and a camelCase ``createdAt``, so both are emitted too.
    ``metadata`` (image size, page count, …) is absent from reference responses and
    written only when non-empty.
    """

    id: str
    intent_id: str = attrs.field(metadata=wire_metadata(aliases=("intentId",)))
    filename: str
    mime_type: str = attrs.field(metadata=_MIME)
    size: int = attrs.field(metadata=_SIZE)
    storage_url: str = attrs.field(metadata=_URL)
    metadata: dict[str, Any] = attrs.field(factory=dict)
    uploaded_by: str = wire_field(
        default="",
        key="created_by",
        aliases=("uploaded_by", "uploadedBy", "createdBy"),
        emit_aliases=("uploaded_by",),
    )
    created_at: dt.datetime | None = wire_field(
        default=None, aliases=("createdAt",), emit_aliases=("createdAt",)
    )

    @property
    def created_by(self) -> str:
        return self.uploaded_by


@attrs.define
class AttachmentCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/attachments``.

    Accepts the async reference client's names (``content_type``, ``url``,
    ``size_bytes``) beside the server's.
    """

    filename: str
    mime_type: str = attrs.field(metadata=_MIME)
    size: int = attrs.field(metadata=_SIZE)
    storage_url: str = attrs.field(metadata=_URL)
    metadata: dict[str, Any] = attrs.field(factory=dict)
