"""RFC-0003: scope leases (the ``lease()`` context managers live on each client)."""

from __future__ import annotations

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing
from openintent.client.endpoints._util import api
from openintent.models import IntentLease

__all__ = ["acquire_lease", "get_leases", "release_lease", "renew_lease"]


def acquire_lease(
    ctx: Context, /, intent_id: str, scope: str, duration_seconds: int = 300
) -> Call[IntentLease]:
    """Take ``scope``; a held scope raises ``LeaseConflictError``."""
    body = {"scope": scope, "duration_seconds": duration_seconds}
    return Call("POST", api("intents", intent_id, "leases"), model(IntentLease), json=body)


def release_lease(ctx: Context, /, intent_id: str, lease_id: str) -> Call[None]:
    return Call("DELETE", api("intents", intent_id, "leases", lease_id), nothing)


def get_leases(ctx: Context, /, intent_id: str) -> Call[list[IntentLease]]:
    """Every lease of the intent (bare array on the reference server, or ``{"leases": []}``)."""
    return Call("GET", api("intents", intent_id, "leases"), models(IntentLease, "leases"))


def renew_lease(
    ctx: Context, /, intent_id: str, lease_id: str, duration_seconds: int = 300
) -> Call[IntentLease]:
    body = {"duration_seconds": duration_seconds}
    return Call(
        "PATCH", api("intents", intent_id, "leases", lease_id), model(IntentLease), json=body
    )
