"""RFC-0010: retry policies and failure records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models._wire_hooks import omit_empty
from openintent.models.enums import RetryStrategy

__all__ = ["FailureCreateRequest", "IntentFailure", "RetryPolicy", "RetryPolicyRequest"]


@attrs.define
class RetryPolicy(WireModel):
    """How failed work on an intent should be retried (one policy per intent).

    ``fallback_agent_id``, ``failure_threshold`` and ``updated_at`` are not in
    reference responses and are written only when set; the reference client reads
    timestamps in camelCase, which is emitted too.
    """

    id: str
    intent_id: str
    strategy: RetryStrategy = RetryStrategy.EXPONENTIAL
    max_retries: int = 3
    base_delay_ms: int = 1000
    max_delay_ms: int = 60000
    jitter: bool = True
    fallback_agent_id: str | None = wire_field(
        default=None, aliases=("fallbackAgentId",), omit_if_none=True
    )
    failure_threshold: int | None = wire_field(
        default=None, aliases=("failureThreshold",), omit_if_none=True
    )
    created_at: dt.datetime | None = wire_field(
        default=None, aliases=("createdAt",), emit_aliases=("createdAt",)
    )
    updated_at: dt.datetime | None = wire_field(
        default=None, aliases=("updatedAt",), emit_aliases=("updatedAt",), omit_if_none=True
    )

    def delay_ms(self, attempt: int) -> int:
        """Delay before retry number ``attempt`` (1-based), before jitter, capped."""
        if self.strategy == RetryStrategy.NONE:
            return 0
        if self.strategy == RetryStrategy.FIXED:
            delay = self.base_delay_ms
        elif self.strategy == RetryStrategy.LINEAR:
            delay = self.base_delay_ms * attempt
        else:
            delay = self.base_delay_ms * 2 ** max(attempt - 1, 0)
        return min(delay, self.max_delay_ms)


@omit_empty("metadata")
@attrs.define
class IntentFailure(WireModel):
    """One failed attempt at an intent's work.

    The reference server says ``error_type`` and ``occurred_at`` where its client says
    ``error_code`` and (camelCase) ``createdAt``; both spellings are emitted. The
    reference client's extra fields are absent from reference responses and written
    only when set (``metadata`` when non-empty).
    """

    id: str
    intent_id: str
    agent_id: str | None
    attempt_number: int
    error_code: str | None = wire_field(
        default=None,
        key="error_type",
        aliases=("error_code", "errorCode"),
        emit_aliases=("error_code",),
    )
    error_message: str | None = wire_field(default=None, aliases=("errorMessage",))
    retry_scheduled_at: dt.datetime | None = wire_field(
        default=None,
        aliases=("retryScheduledAt",),
        emit_aliases=("retryScheduledAt",),
        omit_if_none=True,
    )
    resolved_at: dt.datetime | None = wire_field(
        default=None, aliases=("resolvedAt",), emit_aliases=("resolvedAt",), omit_if_none=True
    )
    metadata: dict[str, Any] = attrs.field(factory=dict)
    recoverable: bool | None = wire_field(default=None, omit_if_none=True)
    created_at: dt.datetime | None = wire_field(
        default=None,
        key="occurred_at",
        aliases=("created_at", "createdAt"),
        emit_aliases=("createdAt",),
    )

    @property
    def error_type(self) -> str | None:
        return self.error_code

    @property
    def occurred_at(self) -> dt.datetime | None:
        return self.created_at


# -- request bodies -------------------------------------------------------------------


@attrs.define
class RetryPolicyRequest(WireModel):
    """Body of ``PUT /intents/{id}/retry-policy``; omitted fields reset to defaults."""

    strategy: RetryStrategy
    max_retries: int = 3
    base_delay_ms: int = 1000
    max_delay_ms: int = 60000
    jitter: bool = True
    fallback_agent_id: str | None = None
    failure_threshold: int | None = None


@attrs.define
class FailureCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/failures``.

    Both reference clients' bodies fit: ``error_code`` stands for ``error_type``,
    ``error_message`` may be ``null`` and ``attempt_number`` may be missing (the
    server then numbers the failure after the intent's previous ones).
    """

    error_type: str | None = wire_field(default=None, aliases=("error_code",))
    error_message: str | None = None
    attempt_number: int | None = None
    agent_id: str | None = None
    retry_scheduled_at: dt.datetime | None = None
    recoverable: bool | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
