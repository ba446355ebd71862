"""Table of RFC-0005: attachment metadata records (the bytes live at ``storage_url``)."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["AttachmentRow"]


class AttachmentRow(Table, tablename="oi_attachments"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    filename = Text()
    mime_type = Text()
    size = BigInt()
    storage_url = Text()
    created_by = Text(default="")
    metadata_json = Text(default="{}")
    created_at = Timestamp()
