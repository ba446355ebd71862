"""RFC-0013: coordinator leases and decision records."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call, Flow
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, raw, raw_list
from openintent.client.endpoints._util import api, value_of
from openintent.exceptions import NotFoundError
from openintent.models.coordinator import CoordinatorLease
from openintent.models.enums import DecisionType

__all__ = [
    "coordinator_heartbeat",
    "create_coordinator_lease",
    "create_decision_record",
    "get_coordinator_lease",
    "list_coordinator_leases",
    "list_decision_records",
]


def create_coordinator_lease(
    ctx: Context, /, agent_id: str, intent_id: str | None = None, **kwargs: Any
) -> Call[CoordinatorLease]:
    body: dict[str, Any] = {"agent_id": agent_id}
    if intent_id is not None:
        body["intent_id"] = intent_id
    body.update({key: value_of(value) for key, value in kwargs.items()})
    return Call("POST", api("coordinators"), model(CoordinatorLease), json=body, create=True)


def get_coordinator_lease(ctx: Context, /, lease_id: str) -> Call[CoordinatorLease]:
    return Call("GET", api("coordinators", lease_id), model(CoordinatorLease))


def list_coordinator_leases(
    ctx: Context, /, intent_id: str | None = None
) -> Flow[list[CoordinatorLease]]:
    """Leases of one intent; without ``intent_id`` the answer is ``[]`` (no request)."""
    if intent_id is None:
        return []
    return (
        yield from Call(
            "GET",
            api("intents", intent_id, "coordinators"),
            models(CoordinatorLease, "coordinators"),
        )
    )


def coordinator_heartbeat(ctx: Context, /, lease_id: str) -> Call[dict[str, Any]]:
    # A repeated heartbeat changes nothing more than the first: safe to retry.
    return Call("POST", api("coordinators", lease_id, "heartbeat"), raw, idempotent=True)


def create_decision_record(
    ctx: Context,
    /,
    coordinator_id: str,
    intent_id: str,
    decision_type: DecisionType | str,
    summary: str,
    rationale: str,
    **kwargs: Any,
) -> Call[dict[str, Any]]:
    body = {
        "coordinator_id": coordinator_id,
        "intent_id": intent_id,
        "decision_type": value_of(decision_type),
        "summary": summary,
        "rationale": rationale,
        **kwargs,
    }
    return Call("POST", api("decisions"), raw, json=body, create=True)


def list_decision_records(
    ctx: Context, /, intent_id: str, limit: int = 50
) -> Flow[list[dict[str, Any]]]:
    """Decision records of an intent, newest first.

    The reference client's path (``…/coordinator-decisions``) is not served by the
    reference server, which lists the same records at ``…/decisions``: that path is
    tried when the first answers 404.
    """
    params = {"limit": limit}
    read = raw_list("decisions")
    try:
        return (
            yield from Call(
                "GET", api("intents", intent_id, "coordinator-decisions"), read, params=params
            )
        )
    except NotFoundError:
        return (yield from Call("GET", api("intents", intent_id, "decisions"), read, params=params))
