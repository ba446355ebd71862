"""RFC-0005 rules: attachment metadata records.

Differences from the reference, none visible to a client that sends valid data: a
negative ``size``, an empty ``filename`` or NUL characters are refused (422);
``metadata`` is stored and returned; ``DELETE`` only deletes an attachment of the
intent named in its path. No events and no stream messages: the reference writes
none and RFC-0005 asks for none (``attachment_added`` stays unwritten).
"""

from __future__ import annotations

from typing import Any

from openintent.core.converter import to_wire, utcnow
from openintent.exceptions import NotFoundError
from openintent.models import AttachmentCreateRequest, IntentAttachment
from openintent.server.ids import new_id
from openintent.server.services import Services, idempotency
from openintent.server.services._checks import INT64_MAX, integer, text
from openintent.server.services.intents import IntentService
from openintent.server.services.principal import Principal
from openintent.server.store.attachments_tables import AttachmentRow
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.schema import register_tables

__all__ = ["AttachmentService", "install"]

register_tables([AttachmentRow])


class AttachmentService:
    def __init__(self, db: Database, intents: IntentService) -> None:
        self.db = db
        self.intents = intents

    async def for_intent(self, intent_id: str) -> list[IntentAttachment]:
        """Insertion order; an unknown intent has none (``[]``, as the reference)."""
        rows = (
            await AttachmentRow.select()
            .where(AttachmentRow.intent_id == intent_id)
            .order_by(AttachmentRow.seq)
        )
        return [_attachment(row) for row in rows]

    async def add(
        self,
        principal: Principal,
        intent_id: str,
        req: AttachmentCreateRequest,
        idempotency_key: str | None,
    ) -> IntentAttachment:
        text("filename", req.filename, required=True)
        text("mime_type", req.mime_type)
        text("storage_url", req.storage_url)
        integer("size", req.size, high=INT64_MAX)
        async with self.db.write():
            await self.intents.require(intent_id)
            key = idempotency.scoped_key(
                principal, f"attachment:{intent_id}", idempotency_key or ""
            )
            if idempotency_key and (stored := await idempotency.claim(key)) is not None:
                return IntentAttachment.from_dict(stored)
            attachment = IntentAttachment(
                id=new_id(),
                intent_id=intent_id,
                filename=req.filename,
                mime_type=req.mime_type,
                size=req.size,
                storage_url=req.storage_url,
                uploaded_by=principal.actor,
                created_at=utcnow(),
                metadata=dict(req.metadata),
            )
            await AttachmentRow.insert(
                AttachmentRow(
                    id=attachment.id,
                    intent_id=intent_id,
                    filename=attachment.filename,
                    mime_type=attachment.mime_type,
                    size=attachment.size,
                    storage_url=attachment.storage_url,
                    created_by=attachment.uploaded_by,
                    metadata_json=dump_json(req.metadata),
                    created_at=attachment.created_at,
                )
            )
            if idempotency_key:
                await idempotency.record(key, to_wire(attachment))
        return attachment

    async def delete(self, principal: Principal, intent_id: str, attachment_id: str) -> None:
        async with self.db.write():
            removed = (
                await AttachmentRow.delete()
                .where((AttachmentRow.id == attachment_id) & (AttachmentRow.intent_id == intent_id))
                .returning(AttachmentRow.id)
            )
            if not removed:
                raise NotFoundError("Attachment not found", status_code=404)


def _attachment(row: dict[str, Any]) -> IntentAttachment:
    return IntentAttachment(
        id=row["id"],
        intent_id=row["intent_id"],
        filename=row["filename"],
        mime_type=row["mime_type"],
        size=int(row["size"]),
        storage_url=row["storage_url"],
        uploaded_by=row["created_by"],
        created_at=row["created_at"],
        metadata=load_json(row["metadata_json"], {}),
    )


def install(services: Services) -> None:
    services.add("attachments", AttachmentService(services.db, services.intents))
