"""RFC-0016: agent registration, heartbeats and status."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, raw
from openintent.client.endpoints._util import api, value_of
from openintent.models.enums import AgentStatus
from openintent.models.lifecycle import AgentRecord

__all__ = [
    "agent_heartbeat",
    "get_agent_record",
    "list_agents",
    "register_agent",
    "update_agent_status",
]


def register_agent(
    ctx: Context, /, agent_id: str, capabilities: list[str] | None = None, **kwargs: Any
) -> Call[AgentRecord]:
    body = {"agent_id": agent_id, "capabilities": list(capabilities or []), **kwargs}
    return Call("POST", api("agents", "register"), model(AgentRecord), json=body, create=True)


def get_agent_record(ctx: Context, /, agent_id: str) -> Call[AgentRecord]:
    return Call("GET", api("agents", agent_id, "record"), model(AgentRecord))


def list_agents(
    ctx: Context, /, status: AgentStatus | str | None = None, role_id: str | None = None
) -> Call[list[AgentRecord]]:
    params = {"status": value_of(status), "role_id": role_id}
    return Call("GET", api("agents"), models(AgentRecord, "agents"), params=params)


def agent_heartbeat(
    ctx: Context,
    /,
    agent_id: str,
    current_load: int = 0,
    tasks_in_progress: list[str] | None = None,
) -> Call[dict[str, Any]]:
    """Report liveness; the answer carries ``next_heartbeat_at``."""
    body = {
        "status": "active",
        "current_load": current_load,
        "tasks_in_progress": list(tasks_in_progress or []),
    }
    return Call("POST", api("agents", agent_id, "heartbeat"), raw, json=body, idempotent=True)


def update_agent_status(
    ctx: Context, /, agent_id: str, status: AgentStatus | str
) -> Call[dict[str, Any]]:
    return Call("PATCH", api("agents", agent_id, "status"), raw, json={"status": value_of(status)})


# -- operations behind ``client.agents`` (namespaces.py) ------------------------------


def drain_agent(ctx: Context, /, agent_id: str) -> Call[dict[str, Any]]:
    """Ask an agent to finish its work and take no more (status ``draining``)."""
    return update_agent_status(ctx, agent_id, AgentStatus.DRAINING)


def deregister_agent(ctx: Context, /, agent_id: str) -> Call[dict[str, Any]]:
    """Retire an agent (status ``deregistered``)."""
    return update_agent_status(ctx, agent_id, AgentStatus.DEREGISTERED)
