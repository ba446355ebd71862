"""RFC-0022/0023 federation.

The reference client returns ``FederationStatus``/``DispatchResult``/``ReceiveResult``
objects from ``openintent.federation``; core has no federation models yet, so these
return the decoded objects as dicts (same keys).
"""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import raw, raw_list
from openintent.client.endpoints._util import api

__all__ = [
    "federation_discover",
    "federation_dispatch",
    "federation_receive",
    "federation_status",
    "list_federated_agents",
    "send_federation_callback",
]


def _plain(value: Any) -> Any:
    """Scope and policy objects may be given as models (``to_dict``) or as dicts."""
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else value


def _given(**fields: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in fields.items() if v is not None}


def federation_status(ctx: Context, /) -> Call[dict[str, Any]]:
    return Call("GET", api("federation", "status"), raw)


def list_federated_agents(
    ctx: Context, /, source_server: str | None = None
) -> Call[list[dict[str, Any]]]:
    return Call(
        "GET",
        api("federation", "agents"),
        raw_list("agents"),
        headers={"X-Source-Server": source_server},
    )


def federation_dispatch(
    ctx: Context,
    /,
    intent_id: str,
    target_server: str,
    agent_id: str | None = None,
    delegation_scope: Any = None,
    federation_policy: Any = None,
    callback_url: str | None = None,
    trace_context: dict[str, Any] | None = None,
) -> Call[dict[str, Any]]:
    body = _given(
        intent_id=intent_id,
        target_server=target_server,
        agent_id=agent_id,
        delegation_scope=delegation_scope,
        federation_policy=federation_policy,
        callback_url=callback_url,
        trace_context=trace_context,
    )
    return Call("POST", api("federation", "dispatch"), raw, json=body)


def federation_receive(
    ctx: Context,
    /,
    dispatch_id: str,
    source_server: str,
    intent_id: str,
    intent_title: str,
    intent_description: str = "",
    intent_state: dict[str, Any] | None = None,
    agent_id: str | None = None,
    delegation_scope: Any = None,
    federation_policy: Any = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
) -> Call[dict[str, Any]]:
    body = _given(
        dispatch_id=dispatch_id,
        source_server=source_server,
        intent_id=intent_id,
        intent_title=intent_title,
        intent_description=intent_description,
        intent_state=intent_state or {},
        agent_id=agent_id,
        delegation_scope=delegation_scope,
        federation_policy=federation_policy,
        callback_url=callback_url,
        idempotency_key=idempotency_key,
    )
    # Receiving is keyed by the dispatch: a repeat is recognised by the receiver.
    return Call("POST", api("federation", "receive"), raw, json=body, idempotent=True)


def send_federation_callback(
    ctx: Context,
    /,
    callback_url: str,
    dispatch_id: str,
    event_type: str,
    state_delta: dict[str, Any] | None = None,
    attestation: Any = None,
    trace_id: str | None = None,
) -> Call[dict[str, Any]]:
    """POST a callback to another server's absolute ``callback_url`` (with our headers)."""
    body = {"dispatch_id": dispatch_id, "event_type": event_type, "state_delta": state_delta or {}}
    body.update(_given(attestation=attestation, trace_id=trace_id))
    return Call("POST", callback_url, raw, json=body)


def federation_discover(ctx: Context, /) -> Call[dict[str, Any]]:
    return Call("GET", "/.well-known/openintent-federation.json", raw)
