"""Names of the SSE channels messages are stored and published on.

Reference paths (``/api/v1/subscribe/...``) carry the reference server's lower-case
event names; the client-style paths (``/api/v1/{intents|agents|portfolios}/{id}/subscribe``)
carry the upper-case names the reference agent runtime routes on, with ``intent_id``
in every payload (spec rfc-0006, recommendation 3).
"""

from __future__ import annotations

__all__ = ["agent", "intent", "portfolio", "runtime_agent", "runtime_intent", "runtime_portfolio"]


def intent(intent_id: str) -> str:
    return f"intent:{intent_id}"


def agent(agent_id: str) -> str:
    return f"agent:{agent_id}"


def portfolio(portfolio_id: str) -> str:
    return f"portfolio:{portfolio_id}"


def runtime_intent(intent_id: str) -> str:
    return f"rt-intent:{intent_id}"


def runtime_agent(agent_id: str) -> str:
    return f"rt-agent:{agent_id}"


def runtime_portfolio(portfolio_id: str) -> str:
    return f"rt-portfolio:{portfolio_id}"
