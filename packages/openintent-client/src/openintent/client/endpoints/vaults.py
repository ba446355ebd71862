"""RFC-0014: credential vaults, tool grants, invocations."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, raw, raw_list
from openintent.client.endpoints._util import api
from openintent.models.vaults import ToolGrant

__all__ = [
    "create_credential",
    "create_tool_grant",
    "create_vault",
    "get_credential",
    "get_tool_grant",
    "get_vault",
    "invoke_tool",
    "list_agent_grants",
    "list_invocations",
    "record_invocation",
    "revoke_grant",
]


def create_vault(ctx: Context, /, owner_id: str, name: str) -> Call[dict[str, Any]]:
    body = {"owner_id": owner_id, "name": name}
    return Call("POST", api("vaults"), raw, json=body, create=True)


def get_vault(ctx: Context, /, vault_id: str) -> Call[dict[str, Any]]:
    return Call("GET", api("vaults", vault_id), raw)


def create_credential(
    ctx: Context,
    /,
    vault_id: str,
    service: str,
    label: str,
    auth_type: str = "api_key",
    **kwargs: Any,
) -> Call[dict[str, Any]]:
    """Store a credential (pass ``scopes_available=``, ``metadata=`` as keywords)."""
    body = {"vault_id": vault_id, "service": service, "label": label, "auth_type": auth_type}
    return Call("POST", api("credentials"), raw, json={**body, **kwargs}, create=True)


def get_credential(ctx: Context, /, credential_id: str) -> Call[dict[str, Any]]:
    return Call("GET", api("credentials", credential_id), raw)


def create_tool_grant(
    ctx: Context,
    /,
    credential_id: str,
    agent_id: str,
    granted_by: str,
    scopes: list[str] | None = None,
    **kwargs: Any,
) -> Call[ToolGrant]:
    body = {
        "credential_id": credential_id,
        "agent_id": agent_id,
        "granted_by": granted_by,
        "scopes": list(scopes or []),
        **kwargs,
    }
    return Call("POST", api("grants"), model(ToolGrant), json=body, create=True)


def get_tool_grant(ctx: Context, /, grant_id: str) -> Call[ToolGrant]:
    return Call("GET", api("grants", grant_id), model(ToolGrant))


def list_agent_grants(ctx: Context, /, agent_id: str) -> Call[list[ToolGrant]]:
    return Call("GET", api("agents", agent_id, "grants"), models(ToolGrant, "grants"))


def revoke_grant(ctx: Context, /, grant_id: str) -> Call[dict[str, Any]]:
    return Call("DELETE", api("grants", grant_id), raw)


def record_invocation(
    ctx: Context, /, grant_id: str, service: str, tool: str, agent_id: str, **kwargs: Any
) -> Call[dict[str, Any]]:
    body = {"grant_id": grant_id, "service": service, "tool": tool, "agent_id": agent_id}
    return Call("POST", api("invocations"), raw, json={**body, **kwargs}, create=True)


def list_invocations(ctx: Context, /, grant_id: str, limit: int = 50) -> Call[list[dict[str, Any]]]:
    return Call(
        "GET",
        api("grants", grant_id, "invocations"),
        raw_list("invocations"),
        params={"limit": limit},
    )


def invoke_tool(
    ctx: Context,
    /,
    tool_name: str,
    agent_id: str,
    parameters: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Call[dict[str, Any]]:
    """Invoke a tool through the server's credential proxy (not idempotent: no retries)."""
    body = {"tool_name": tool_name, "agent_id": agent_id, "parameters": parameters or {}}
    return Call("POST", api("tools", "invoke"), raw, json={**body, **kwargs})
