"""RFC-0001: intents, state patches, status, the event log, assignment; discovery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openintent.client._call import Call, Flow
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing, raw
from openintent.client.endpoints._util import api, if_match, iso, value_of
from openintent.core.converter import parse_timestamp
from openintent.models import EventType, Intent, IntentEvent, IntentStatus

__all__ = [
    "assign_agent",
    "complete_intent",
    "create_intent",
    "discover",
    "get_events",
    "get_intent",
    "get_server_config",
    "list_intents",
    "log_event",
    "patch_state",
    "set_status",
    "unassign_agent",
    "update_state",
]


def discover(ctx: Context, /) -> Call[dict[str, Any]]:
    """The server's discovery document (``/.well-known/openintent.json``)."""
    return Call("GET", "/.well-known/openintent.json", raw)


def get_server_config(ctx: Context, /) -> Call[dict[str, Any]]:
    """Public server settings (protocol version, suspension defaults)."""
    return Call("GET", api("server", "config"), raw)


def create_intent(
    ctx: Context,
    /,
    title: str,
    description: str = "",
    constraints: dict[str, Any] | None = None,
    initial_state: dict[str, Any] | None = None,
    parent_intent_id: str | dict[str, Any] | None = None,
    depends_on: list[str] | None = None,
    governance_policy: dict[str, Any] | None = None,
) -> Call[Intent]:
    """Create an intent; it starts as ``draft`` at version 1.

    Positional order is the sync reference's. The async reference takes
    ``governance_policy`` fifth; a dict in the ``parent_intent_id`` slot is read as that
    policy, so both call styles work.
    """
    if isinstance(parent_intent_id, dict):
        governance_policy, parent_intent_id = parent_intent_id, None
    body: dict[str, Any] = {
        "title": title,
        "description": description,
        "constraints": constraints or {},
        "state": initial_state or {},
        "created_by": ctx.agent_id,
    }
    if parent_intent_id:
        body["parent_intent_id"] = parent_intent_id
    if depends_on:
        body["depends_on"] = list(depends_on)
    if governance_policy:
        body["governance_policy"] = governance_policy
    return Call("POST", api("intents"), model(Intent), json=body, create=True)


def get_intent(ctx: Context, /, intent_id: str) -> Call[Intent]:
    return Call("GET", api("intents", intent_id), model(Intent))


def list_intents(
    ctx: Context, /, status: IntentStatus | str | None = None, limit: int = 50, offset: int = 0
) -> Call[list[Intent]]:
    """All intents, optionally of one status (not served by the reference server: 405)."""
    params = {"limit": limit, "offset": offset, "status": value_of(status)}
    return Call("GET", api("intents"), models(Intent, "intents"), params=params)


def update_state(
    ctx: Context, /, intent_id: str, version: int, state_patch: dict[str, Any]
) -> Call[Intent]:
    """Set each top-level key of ``state_patch``; ``version`` must be the current one."""
    patches = [{"op": "set", "path": key, "value": value} for key, value in state_patch.items()]
    return Call(
        "POST",
        api("intents", intent_id, "state"),
        model(Intent),
        json={"patches": patches},
        headers=if_match(version),
    )


def set_status(
    ctx: Context,
    /,
    intent_id: str,
    version: int | IntentStatus | str,
    status: IntentStatus | str | int,
    reason: str | None = None,
) -> Call[Intent]:
    """Move the intent to ``status`` (enum member or its string).

    Agent code and docs also call ``set_status(id, status, version)``; an ``int`` in the
    third place with a status in the second is read that way.
    """
    if isinstance(status, int) and not isinstance(version, int):
        version, status = status, version
    if not isinstance(version, int) or isinstance(status, int):
        raise TypeError("set_status(intent_id, version: int, status, reason=None)")
    body: dict[str, Any] = {"status": value_of(status)}
    if reason:
        body["reason"] = reason
    return Call(
        "POST",
        api("intents", intent_id, "status"),
        model(Intent),
        json=body,
        headers=if_match(version),
    )


def log_event(
    ctx: Context,
    /,
    intent_id: str,
    event_type: EventType | str,
    payload: dict[str, Any] | None = None,
    trace_id: str | None = None,
    parent_event_id: str | None = None,
) -> Call[IntentEvent]:
    """Append an event (any type string) with this client's agent as actor."""
    body: dict[str, Any] = {
        "event_type": value_of(event_type),
        "actor": ctx.agent_id,
        "payload": payload or {},
    }
    if trace_id:
        body["trace_id"] = trace_id
    if parent_event_id:
        body["parent_event_id"] = parent_event_id
    return Call("POST", api("intents", intent_id, "events"), model(IntentEvent), json=body)


def get_events(
    ctx: Context,
    /,
    intent_id: str,
    event_type: EventType | str | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> Call[list[IntentEvent]]:
    """The event log, newest first as the server orders it.

    ``event_type`` and ``since`` are sent as query parameters and also applied to the
    answer, because the reference server ignores them.
    """
    wanted = value_of(event_type)
    after = parse_timestamp(since) if since is not None else None
    read_all = models(IntentEvent, "events")

    def read(data: Any) -> list[IntentEvent]:
        events = read_all(data)
        if wanted is not None:
            events = [e for e in events if value_of(e.event_type) == wanted]
        if after is not None:
            events = [e for e in events if e.created_at is None or e.created_at >= after]
        return events

    params = {"limit": limit, "event_type": wanted, "since": iso(since)}
    return Call("GET", api("intents", intent_id, "events"), read, params=params)


def assign_agent(
    ctx: Context, /, intent_id: str, agent_id: str | None = None
) -> Call[dict[str, Any]]:
    """Assign an agent (default: this client's) to the intent; returns the assignment."""
    body = {"agent_id": agent_id or ctx.agent_id}
    return Call("POST", api("intents", intent_id, "agents"), raw, json=body)


def unassign_agent(ctx: Context, /, intent_id: str, agent_id: str | None = None) -> Call[None]:
    """Remove an assignment (not served by the reference server: 404)."""
    return Call("DELETE", api("intents", intent_id, "agents", agent_id or ctx.agent_id), nothing)


def patch_state(ctx: Context, /, intent_id: str, updates: dict[str, Any]) -> Flow[Intent]:
    """``update_state`` at the intent's current version (reads it first)."""
    current = yield from get_intent(ctx, intent_id)
    return (yield from update_state(ctx, intent_id, current.version, updates))


def complete_intent(
    ctx: Context, /, intent_id: str, final_state: dict[str, Any] | None = None
) -> Flow[Intent]:
    """Optionally patch ``final_state``, then set ``completed`` with the fresh version."""
    intent = yield from get_intent(ctx, intent_id)
    if final_state:
        intent = yield from update_state(ctx, intent_id, intent.version, final_state)
    return (yield from set_status(ctx, intent_id, intent.version, IntentStatus.COMPLETED))
