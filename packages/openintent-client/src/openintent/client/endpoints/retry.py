"""RFC-0010: retry policies and failure records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.client._call import Call, Flow
from openintent.client._endpoint import Context
from openintent.client._parse import model, models
from openintent.client.endpoints._util import api, iso, value_of
from openintent.exceptions import NotFoundError
from openintent.models import IntentFailure, RetryPolicy, RetryStrategy

__all__ = ["get_failures", "get_retry_policy", "record_failure", "set_retry_policy"]


def set_retry_policy(
    ctx: Context,
    /,
    intent_id: str,
    strategy: RetryStrategy | str = RetryStrategy.EXPONENTIAL,
    max_retries: int = 3,
    base_delay_ms: int = 1000,
    max_delay_ms: int = 60000,
    fallback_agent_id: str | None = None,
    failure_threshold: int = 3,
) -> Call[RetryPolicy]:
    """Create or replace the policy.

    The sync reference's signature (the async one is the same minus
    ``failure_threshold`` and defaults ``max_delay_ms`` to 30000; pass it explicitly
    to get that value).
    """
    body = {
        "strategy": value_of(strategy),
        "max_retries": max_retries,
        "base_delay_ms": base_delay_ms,
        "max_delay_ms": max_delay_ms,
        "fallback_agent_id": fallback_agent_id,
        "failure_threshold": failure_threshold,
    }
    return Call("PUT", api("intents", intent_id, "retry-policy"), model(RetryPolicy), json=body)


def _fetch_retry_policy(intent_id: str) -> Call[RetryPolicy]:
    return Call("GET", api("intents", intent_id, "retry-policy"), model(RetryPolicy))


def get_retry_policy(ctx: Context, /, intent_id: str) -> Flow[RetryPolicy | None]:
    """The policy, or ``None`` when none is set (404)."""
    try:
        return (yield from _fetch_retry_policy(intent_id))
    except NotFoundError:
        return None


def record_failure(
    ctx: Context,
    /,
    intent_id: str,
    attempt_number: int | str = 1,
    error_code: str | None = None,
    error_message: str | bool | None = None,
    retry_scheduled_at: dt.datetime | str | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    error_type: str | None = None,
    recoverable: bool | None = None,
) -> Call[IntentFailure]:
    """Record a failed attempt.

    One signature for both reference call styles: the sync order ``(intent_id,
    attempt_number, error_code, error_message, retry_scheduled_at, metadata)`` and the
    async order ``(intent_id, error_type, error_message, recoverable, metadata)``. A
    string second argument selects the async reading (the later positional values are
    then the message, ``recoverable`` and ``metadata``). The body carries both variants'
    keys: the reference server needs ``attempt_number`` and ``error_type``.
    """
    if isinstance(attempt_number, str):
        error_type, attempt_number = attempt_number, 1
        if isinstance(error_message, bool):
            recoverable, error_message = error_message, None
        if error_code is not None:
            error_message, error_code = error_code, None
        if isinstance(retry_scheduled_at, dict):
            metadata, retry_scheduled_at = retry_scheduled_at, None
    if isinstance(error_message, bool) or isinstance(retry_scheduled_at, dict):
        raise TypeError("record_failure(intent_id, attempt_number, error_code, error_message, ...)")
    body: dict[str, Any] = {
        "agent_id": ctx.agent_id,
        "attempt_number": attempt_number,
        "error_type": error_type or error_code or "error",
        "error_code": error_code or error_type,
        "error_message": error_message,
        "retry_scheduled_at": iso(retry_scheduled_at),
        "metadata": metadata or {},
    }
    if recoverable is not None:
        body["recoverable"] = recoverable
    return Call(
        "POST", api("intents", intent_id, "failures"), model(IntentFailure), json=body, create=True
    )


def get_failures(ctx: Context, /, intent_id: str) -> Call[list[IntentFailure]]:
    return Call("GET", api("intents", intent_id, "failures"), models(IntentFailure, "failures"))
