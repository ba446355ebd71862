"""RFC-0020: the tracing context carried from event to event (``trace_id``, ``parent_event_id``)."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from openintent.core.converter import structure, to_dict

__all__ = ["TracingContext"]


@attrs.frozen
class TracingContext:
    """Which trace an action belongs to and which event caused it.

    Not a ``WireModel``: ``from_dict`` answers ``None`` for data without a
    ``trace_id`` (an untraced event), as the reference client does.
    """

    trace_id: str
    parent_event_id: str | None = None

    @classmethod
    def new_root(cls) -> TracingContext:
        """A fresh trace (32 hex characters) with no parent."""
        return cls(trace_id=uuid.uuid4().hex)

    def child(self, new_parent_event_id: str) -> TracingContext:
        """The context for work caused by event ``new_parent_event_id`` of this trace."""
        return TracingContext(self.trace_id, new_parent_event_id)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TracingContext | None:
        if not isinstance(data, dict) or not data.get("trace_id"):
            return None
        return structure(data, cls)
