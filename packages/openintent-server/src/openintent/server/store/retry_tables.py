"""Tables of RFC-0010: one retry policy per intent, append-only failure records."""

from __future__ import annotations

from piccolo.columns import BigSerial, Boolean, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["FailureRow", "RetryPolicyRow"]


class RetryPolicyRow(Table, tablename="oi_retry_policies"):
    id = Varchar(length=36, primary_key=True)
    # Unique: a PUT is one INSERT ... ON CONFLICT (intent_id) DO UPDATE.
    intent_id = Varchar(length=255, unique=True)
    strategy = Varchar(length=32)
    max_retries = Integer()
    base_delay_ms = Integer()
    max_delay_ms = Integer()
    jitter = Boolean()
    fallback_agent_id = Text(null=True, default=None)
    failure_threshold = Integer(null=True, default=None)
    created_at = Timestamp()
    updated_at = Timestamp(null=True, default=None)


class FailureRow(Table, tablename="oi_failures"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    agent_id = Text(null=True, default=None)
    attempt_number = Integer()
    error_type = Text(null=True, default=None)
    error_message = Text(default="")
    retry_scheduled_at = Timestamp(null=True, default=None)
    recoverable = Boolean(null=True, default=None)
    metadata_json = Text(default="{}")
    occurred_at = Timestamp()
