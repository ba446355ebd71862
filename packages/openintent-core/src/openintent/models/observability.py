"""RFC-0008: payloads of the LLM, tool-call and stream events.

These travel as ordinary event payloads (``POST /intents/{id}/events``); the server
stores them verbatim. Optional keys are left out when unset, as the reference
client writes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import structure, wire_field
from openintent.models._base import WireModel
from openintent.models.enums import EventType, StreamStatus

__all__ = [
    "LLMRequestPayload",
    "StreamChunkPayload",
    "StreamState",
    "ToolCallPayload",
    "observability_payload",
    "payload_type_for",
]


@attrs.define
class ToolCallPayload(WireModel):
    """Payload of ``tool_call_started`` / ``_completed`` / ``_failed``."""

    tool_name: str
    tool_id: str
    arguments: dict[str, Any] = attrs.field(factory=dict)
    provider: str | None = wire_field(default=None, omit_if_none=True)
    model: str | None = wire_field(default=None, omit_if_none=True)
    parent_request_id: str | None = wire_field(default=None, omit_if_none=True)
    result: Any = wire_field(default=None, omit_if_none=True)
    error: str | None = wire_field(default=None, omit_if_none=True)
    duration_ms: int | None = wire_field(default=None, omit_if_none=True)
    token_count: int | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class LLMRequestPayload(WireModel):
    """Payload of ``llm_request_started`` / ``_completed`` / ``_failed``.

    Empty lists and strings count as unset (the reference client drops them).
    """

    request_id: str
    provider: str
    model: str
    messages_count: int
    stream: bool = False
    tools_available: list[str] | None = wire_field(default=None, omit_if_none=True)
    temperature: float | None = wire_field(default=None, omit_if_none=True)
    max_tokens: int | None = wire_field(default=None, omit_if_none=True)
    response_content: str | None = wire_field(default=None, omit_if_none=True)
    tool_calls: list[dict[str, Any]] | None = wire_field(default=None, omit_if_none=True)
    finish_reason: str | None = wire_field(default=None, omit_if_none=True)
    prompt_tokens: int | None = wire_field(default=None, omit_if_none=True)
    completion_tokens: int | None = wire_field(default=None, omit_if_none=True)
    total_tokens: int | None = wire_field(default=None, omit_if_none=True)
    duration_ms: int | None = wire_field(default=None, omit_if_none=True)
    error: str | None = wire_field(default=None, omit_if_none=True)

    def __attrs_post_init__(self) -> None:
        if not self.tools_available:
            self.tools_available = None
        if not self.response_content:
            self.response_content = None
        if not self.tool_calls:
            self.tool_calls = None


@attrs.define
class StreamState(WireModel):
    """Payload of ``stream_started`` / ``_completed`` / ``_cancelled``: one stream's progress."""

    stream_id: str
    intent_id: str
    agent_id: str
    status: StreamStatus = StreamStatus.ACTIVE
    provider: str = ""
    model: str = ""
    chunks_received: int = 0
    tokens_streamed: int = 0
    started_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    completed_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    cancelled_at: dt.datetime | None = wire_field(default=None, omit_if_none=True)
    cancel_reason: str | None = wire_field(default=None, omit_if_none=True)
    error: str | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class StreamChunkPayload(WireModel):
    """Payload of ``stream_chunk``."""

    stream_id: str
    chunk_index: int
    token_count: int = 1


_PAYLOADS: dict[str, type[WireModel]] = {
    EventType.LLM_REQUEST_STARTED: LLMRequestPayload,
    EventType.LLM_REQUEST_COMPLETED: LLMRequestPayload,
    EventType.LLM_REQUEST_FAILED: LLMRequestPayload,
    EventType.TOOL_CALL_STARTED: ToolCallPayload,
    EventType.TOOL_CALL_COMPLETED: ToolCallPayload,
    EventType.TOOL_CALL_FAILED: ToolCallPayload,
    EventType.STREAM_STARTED: StreamState,
    EventType.STREAM_COMPLETED: StreamState,
    EventType.STREAM_CANCELLED: StreamState,
    EventType.STREAM_CHUNK: StreamChunkPayload,
}


def payload_type_for(event_type: EventType | str) -> type[WireModel] | None:
    """The payload model of an observability event type, ``None`` for other types."""
    return _PAYLOADS.get(str(event_type))


def observability_payload(event_type: EventType | str, payload: object) -> WireModel | None:
    """Parse ``payload`` as the model for ``event_type``; ``None`` for other event types.

    Raises :class:`~openintent.exceptions.ValidationError` when the payload does not fit.
    """
    model = payload_type_for(event_type)
    return None if model is None else structure(payload, model)
