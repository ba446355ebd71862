"""RFC-0007: portfolios and their intents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import items, model, models, nothing
from openintent.client.endpoints._util import api, value_of
from openintent.models import (
    AggregateStatus,
    Intent,
    IntentPortfolio,
    MembershipRole,
    PortfolioMembership,
    PortfolioStatus,
)

__all__ = [
    "add_intent_to_portfolio",
    "create_portfolio",
    "get_intent_portfolios",
    "get_portfolio",
    "get_portfolio_intents",
    "list_portfolios",
    "remove_intent_from_portfolio",
    "update_portfolio_status",
]


def create_portfolio(
    ctx: Context,
    /,
    name: str,
    description: str | None = None,
    governance_policy: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Call[IntentPortfolio]:
    """Create a portfolio owned by this client's agent (``description`` defaults to ``""``)."""
    body = {
        "name": name,
        "description": description or "",
        "created_by": ctx.agent_id,
        "governance_policy": governance_policy or {},
        "metadata": metadata or {},
    }
    return Call("POST", api("portfolios"), model(IntentPortfolio), json=body, create=True)


def get_portfolio(ctx: Context, /, portfolio_id: str) -> Call[IntentPortfolio]:
    return Call("GET", api("portfolios", portfolio_id), model(IntentPortfolio))


def list_portfolios(ctx: Context, /, created_by: str | None = None) -> Call[list[IntentPortfolio]]:
    return Call(
        "GET",
        api("portfolios"),
        models(IntentPortfolio, "portfolios"),
        params={"created_by": created_by},
    )


def update_portfolio_status(
    ctx: Context, /, portfolio_id: str, status: PortfolioStatus | str
) -> Call[IntentPortfolio]:
    return Call(
        "PATCH",
        api("portfolios", portfolio_id, "status"),
        model(IntentPortfolio),
        json={"status": value_of(status)},
    )


def add_intent_to_portfolio(
    ctx: Context,
    /,
    portfolio_id: str,
    intent_id: str,
    role: MembershipRole | str = MembershipRole.MEMBER,
    priority: int = 0,
) -> Call[PortfolioMembership]:
    body = {"intent_id": intent_id, "role": value_of(role), "priority": priority}

    def read(data: Any) -> PortfolioMembership:
        # The reference server answers {"message", "membership_id"}: complete it from
        # the request so the membership carries its portfolio, intent, role and priority.
        sent = {"portfolio_id": portfolio_id, **body}
        return PortfolioMembership.from_dict({**sent, **(data or {})})

    return Call("POST", api("portfolios", portfolio_id, "intents"), read, json=body)


def remove_intent_from_portfolio(ctx: Context, /, portfolio_id: str, intent_id: str) -> Call[None]:
    return Call("DELETE", api("portfolios", portfolio_id, "intents", intent_id), nothing)


def _intents_with_aggregate(data: Any) -> tuple[list[Intent], AggregateStatus]:
    intents = [Intent.from_dict(item) for item in items(data, "intents")]
    aggregate = data.get("aggregate_status") if isinstance(data, Mapping) else None
    if isinstance(aggregate, Mapping):
        return intents, AggregateStatus.from_dict(aggregate)
    # A bare array (reference server): compute the aggregate from the members.
    return intents, AggregateStatus.from_statuses(i.status for i in intents)


def get_portfolio_intents(
    ctx: Context, /, portfolio_id: str
) -> Call[tuple[list[Intent], AggregateStatus]]:
    """The member intents and their aggregate status."""
    return Call("GET", api("portfolios", portfolio_id, "intents"), _intents_with_aggregate)


def get_intent_portfolios(ctx: Context, /, intent_id: str) -> Call[list[IntentPortfolio]]:
    return Call(
        "GET", api("intents", intent_id, "portfolios"), models(IntentPortfolio, "portfolios")
    )
