"""Stored rows written out as wire JSON without building models first.

The hottest reads (one intent, a page of the event log) would otherwise parse every
JSON column, build attrs models, unstructure them with cattrs and encode the result.
Here the JSON columns are spliced in as stored (``msgspec.Raw``: they were written by
``dump_json``) and msgspec encodes the rest; an event, immutable once written, keeps
its wire text in its row. Each struct reproduces the keys, order and values of
``to_wire`` for the model it stands for; tests compare the two.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec

__all__ = ["encode_intent", "event_text", "join_array", "timestamp_text"]

_encode = msgspec.json.Encoder().encode


def timestamp_text(value: str | dt.datetime | None) -> str | None:
    """A stored timestamp as wire text (``datetime.isoformat()``).

    SQLite statements select ``replace(CAST(ts AS TEXT), ' ', 'T')``, which is that text
    already; PostgreSQL hands back datetimes.
    """
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _raw(text: str | None, empty: str) -> msgspec.Raw:
    return msgspec.Raw(text or empty)


class _WireEvent(msgspec.Struct):
    """``to_wire(IntentEvent)`` of a stored event."""

    id: str
    intent_id: str
    event_type: str
    actor: str | None
    payload: msgspec.Raw
    created_at: str | None


def event_text(
    event_id: str,
    intent_id: str,
    event_type: str,
    actor: str | None,
    payload: str,
    created_at: dt.datetime | str | None,
) -> str:
    """The ``wire`` column of ``oi_events``: the event as the log listing serves it.

    ``payload`` is the stored JSON text (``dump_json``)."""
    event = _WireEvent(
        event_id, intent_id, event_type, actor, _raw(payload, "{}"), timestamp_text(created_at)
    )
    return _encode(event).decode()


def join_array(texts: Sequence[str]) -> bytes:
    """Stored JSON texts -> one JSON array."""
    return ("[" + ",".join(texts) + "]").encode()


class _WireIntent(msgspec.Struct):
    """``to_wire(Intent)``: ``parent_id`` is canonical, ``parent_intent_id`` its alias."""

    id: str
    title: str
    description: str
    version: int
    status: str
    state: msgspec.Raw
    constraints: msgspec.Raw
    parent_id: str | None
    depends_on: msgspec.Raw
    created_at: str | None
    updated_at: str | None
    created_by: str | None
    confidence: float
    governance_policy: msgspec.Raw | None
    parent_intent_id: str | None


def encode_intent(row: dict[str, Any]) -> bytes:
    """A row of ``core_sql.INTENT_WIRE_BY_ID`` -> the intent's JSON object."""
    policy = row["governance_policy"]
    return _encode(
        _WireIntent(
            id=row["id"],
            title=row["title"],
            description=row["description"],
            version=row["version"],
            status=row["status"],
            state=_raw(row["state"], "{}"),
            constraints=_raw(row["constraints"], "{}"),
            parent_id=row["parent_id"],
            depends_on=_raw(row["depends_on"], "[]"),
            created_at=timestamp_text(row["created_at"]),
            updated_at=timestamp_text(row["updated_at"]),
            created_by=row["created_by"],
            confidence=float(row["confidence"]),
            governance_policy=None if policy is None else msgspec.Raw(policy),
            parent_intent_id=row["parent_id"],
        )
    )
