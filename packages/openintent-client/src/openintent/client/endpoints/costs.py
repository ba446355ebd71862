"""RFC-0009: cost records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import items, model
from openintent.client.endpoints._util import api, value_of
from openintent.models import CostSummary, CostType, IntentCost

__all__ = ["get_costs", "record_cost"]


def record_cost(
    ctx: Context,
    /,
    intent_id: str,
    cost_type: CostType | str,
    amount: float,
    unit: str,
    provider: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Call[IntentCost]:
    """Record a cost by this client's agent (a governance ``max_cost`` may refuse it: 403)."""
    body = {
        "agent_id": ctx.agent_id,
        "cost_type": value_of(cost_type),
        "amount": amount,
        "unit": unit,
        "provider": provider,
        "metadata": metadata or {},
    }
    return Call(
        "POST", api("intents", intent_id, "costs"), model(IntentCost), json=body, create=True
    )


def _costs_with_summary(data: Any) -> tuple[list[IntentCost], CostSummary]:
    costs = [IntentCost.from_dict(item) for item in items(data, "costs")]
    summary = data.get("summary") if isinstance(data, Mapping) else None
    if isinstance(summary, Mapping):
        return costs, CostSummary.from_dict(summary)
    # A bare array (reference server): sum the records instead of reporting zeros.
    return costs, CostSummary.from_costs(costs)


def get_costs(ctx: Context, /, intent_id: str) -> Call[tuple[list[IntentCost], CostSummary]]:
    return Call("GET", api("intents", intent_id, "costs"), _costs_with_summary)
