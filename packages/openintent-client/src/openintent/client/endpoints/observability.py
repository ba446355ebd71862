"""RFC-0008: LLM, tool-call and stream events, logged through ``log_event``."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client.endpoints.intents import log_event
from openintent.core.converter import utcnow
from openintent.models import (
    EventType,
    IntentEvent,
    LLMRequestPayload,
    StreamChunkPayload,
    StreamState,
    StreamStatus,
    ToolCallPayload,
)

__all__ = [
    "cancel_stream",
    "complete_stream",
    "log_llm_request_completed",
    "log_llm_request_failed",
    "log_llm_request_started",
    "log_stream_chunk",
    "log_tool_call_completed",
    "log_tool_call_failed",
    "log_tool_call_started",
    "start_stream",
]


def log_tool_call_started(
    ctx: Context,
    /,
    intent_id: str,
    tool_name: str,
    tool_id: str,
    arguments: dict[str, Any],
    provider: str | None = None,
    model: str | None = None,
    parent_request_id: str | None = None,
) -> Call[IntentEvent]:
    payload = ToolCallPayload(
        tool_name=tool_name,
        tool_id=tool_id,
        arguments=arguments,
        provider=provider,
        model=model,
        parent_request_id=parent_request_id,
    )
    return log_event(ctx, intent_id, EventType.TOOL_CALL_STARTED, payload.to_dict())


def log_tool_call_completed(
    ctx: Context,
    /,
    intent_id: str,
    tool_name: str,
    tool_id: str,
    arguments: dict[str, Any],
    result: Any,
    duration_ms: int | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> Call[IntentEvent]:
    payload = ToolCallPayload(
        tool_name=tool_name,
        tool_id=tool_id,
        arguments=arguments,
        result=result,
        duration_ms=duration_ms,
        provider=provider,
        model=model,
    )
    return log_event(ctx, intent_id, EventType.TOOL_CALL_COMPLETED, payload.to_dict())


def log_tool_call_failed(
    ctx: Context,
    /,
    intent_id: str,
    tool_name: str,
    tool_id: str,
    arguments: dict[str, Any],
    error: str,
    duration_ms: int | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> Call[IntentEvent]:
    payload = ToolCallPayload(
        tool_name=tool_name,
        tool_id=tool_id,
        arguments=arguments,
        error=error,
        duration_ms=duration_ms,
        provider=provider,
        model=model,
    )
    return log_event(ctx, intent_id, EventType.TOOL_CALL_FAILED, payload.to_dict())


def log_llm_request_started(
    ctx: Context,
    /,
    intent_id: str,
    request_id: str,
    provider: str,
    model: str,
    messages_count: int,
    tools_available: list[str] | None = None,
    stream: bool = False,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Call[IntentEvent]:
    payload = LLMRequestPayload(
        request_id=request_id,
        provider=provider,
        model=model,
        messages_count=messages_count,
        stream=stream,
        tools_available=tools_available,
        temperature=temperature,
        max_tokens=max_tokens,
    )
    return log_event(ctx, intent_id, EventType.LLM_REQUEST_STARTED, payload.to_dict())


def log_llm_request_completed(
    ctx: Context,
    /,
    intent_id: str,
    request_id: str,
    provider: str,
    model: str,
    messages_count: int,
    response_content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    total_tokens: int | None = None,
    duration_ms: int | None = None,
) -> Call[IntentEvent]:
    payload = LLMRequestPayload(
        request_id=request_id,
        provider=provider,
        model=model,
        messages_count=messages_count,
        stream=False,
        response_content=response_content,
        tool_calls=tool_calls,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=total_tokens,
        duration_ms=duration_ms,
    )
    return log_event(ctx, intent_id, EventType.LLM_REQUEST_COMPLETED, payload.to_dict())


def log_llm_request_failed(
    ctx: Context,
    /,
    intent_id: str,
    request_id: str,
    provider: str,
    model: str,
    messages_count: int,
    error: str,
    duration_ms: int | None = None,
) -> Call[IntentEvent]:
    payload = LLMRequestPayload(
        request_id=request_id,
        provider=provider,
        model=model,
        messages_count=messages_count,
        stream=False,
        error=error,
        duration_ms=duration_ms,
    )
    return log_event(ctx, intent_id, EventType.LLM_REQUEST_FAILED, payload.to_dict())


def start_stream(
    ctx: Context, /, intent_id: str, stream_id: str, provider: str, model: str
) -> Call[IntentEvent]:
    state = StreamState(
        stream_id=stream_id,
        intent_id=intent_id,
        agent_id=ctx.agent_id,
        status=StreamStatus.ACTIVE,
        provider=provider,
        model=model,
        started_at=utcnow(),
    )
    return log_event(ctx, intent_id, EventType.STREAM_STARTED, state.to_dict())


def log_stream_chunk(
    ctx: Context, /, intent_id: str, stream_id: str, chunk_index: int, token_count: int = 1
) -> Call[IntentEvent]:
    payload = StreamChunkPayload(
        stream_id=stream_id, chunk_index=chunk_index, token_count=token_count
    )
    return log_event(ctx, intent_id, EventType.STREAM_CHUNK, payload.to_dict())


def complete_stream(
    ctx: Context,
    /,
    intent_id: str,
    stream_id: str,
    provider: str,
    model: str,
    chunks_received: int,
    tokens_streamed: int,
) -> Call[IntentEvent]:
    state = StreamState(
        stream_id=stream_id,
        intent_id=intent_id,
        agent_id=ctx.agent_id,
        status=StreamStatus.COMPLETED,
        provider=provider,
        model=model,
        chunks_received=chunks_received,
        tokens_streamed=tokens_streamed,
        completed_at=utcnow(),
    )
    return log_event(ctx, intent_id, EventType.STREAM_COMPLETED, state.to_dict())


def cancel_stream(
    ctx: Context,
    /,
    intent_id: str,
    stream_id: str,
    provider: str,
    model: str,
    reason: str | None = None,
    chunks_received: int = 0,
    tokens_streamed: int = 0,
) -> Call[IntentEvent]:
    state = StreamState(
        stream_id=stream_id,
        intent_id=intent_id,
        agent_id=ctx.agent_id,
        status=StreamStatus.CANCELLED,
        provider=provider,
        model=model,
        chunks_received=chunks_received,
        tokens_streamed=tokens_streamed,
        cancelled_at=utcnow(),
        cancel_reason=reason,
    )
    return log_event(ctx, intent_id, EventType.STREAM_CANCELLED, state.to_dict())
