"""RFC-0009: cost records and their summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models.enums import CostType

__all__ = ["CostCreateRequest", "CostSummary", "IntentCost"]


@attrs.define
class IntentCost(WireModel):
    """One recorded consumption (tokens, API calls, compute, …) against an intent.

    The reference server names the metadata ``cost_metadata``; its client reads
    ``metadata`` and a camelCase ``recordedAt``, which are emitted as well.
    """

    id: str
    intent_id: str
    agent_id: str
    cost_type: CostType | str
    amount: float
    unit: str
    provider: str | None = None
    metadata: dict[str, Any] = wire_field(
        factory=dict, key="cost_metadata", aliases=("metadata",), emit_aliases=("metadata",)
    )
    recorded_at: dt.datetime | None = wire_field(
        default=None, aliases=("recordedAt",), emit_aliases=("recordedAt",)
    )


@attrs.define
class CostSummary(WireModel):
    """Totals over a set of cost records, overall and per type and agent."""

    total: float = 0.0
    by_type: dict[str, float] = wire_field(factory=dict, aliases=("byType",))
    by_agent: dict[str, float] = wire_field(factory=dict, aliases=("byAgent",))

    @classmethod
    def from_costs(cls, costs: Iterable[IntentCost]) -> CostSummary:
        summary = cls()
        for cost in costs:
            summary.total += cost.amount
            kind = str(cost.cost_type)
            summary.by_type[kind] = summary.by_type.get(kind, 0.0) + cost.amount
            summary.by_agent[cost.agent_id] = summary.by_agent.get(cost.agent_id, 0.0) + cost.amount
        return summary


# -- request bodies -------------------------------------------------------------------


@attrs.define
class CostCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/costs``.

    ``agent_id`` falls back to the caller (the async reference client omits it);
    ``metadata`` is accepted for ``cost_metadata``. ``cost_type`` is closed: the
    reference client cannot read back a record with a type outside ``CostType``.
    """

    cost_type: CostType
    amount: float
    unit: str
    agent_id: str | None = None
    provider: str | None = None
    cost_metadata: dict[str, Any] = wire_field(factory=dict, aliases=("metadata",))
