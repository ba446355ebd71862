"""Table of RFC-0009: cost records.

``amount`` is double precision so sums are exact enough for money in cents.
``source_ref`` marks records the server derived from another record (RFC-0008
``llm_request_completed`` usage: ``llm:<request_id>``); a unique index makes each
source produce at most one record per intent, however often it is replayed.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, DoublePrecision, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["INDEXES", "CostRow"]


class CostRow(Table, tablename="oi_costs"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    intent_id = Varchar(length=255, index=True)
    agent_id = Text()
    cost_type = Varchar(length=32)
    amount = DoublePrecision()
    unit = Text()
    provider = Text(null=True, default=None)
    metadata_json = Text(default="{}")
    source_ref = Text(null=True, default=None)
    recorded_at = Timestamp()


INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS oi_costs_source ON oi_costs (intent_id, source_ref) "
    "WHERE source_ref IS NOT NULL",
]
