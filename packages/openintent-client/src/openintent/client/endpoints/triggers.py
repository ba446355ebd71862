"""RFC-0017: triggers."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, nothing, raw
from openintent.client.endpoints._util import api, if_match, value_of
from openintent.models.enums import TriggerType
from openintent.models.triggers import Trigger

__all__ = [
    "create_trigger",
    "delete_trigger",
    "fire_trigger",
    "get_trigger",
    "list_triggers",
    "update_trigger",
]


def _fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_dict() if hasattr(v, "to_dict") else value_of(v) for k, v in kwargs.items()}


def create_trigger(
    ctx: Context, /, name: str, trigger_type: TriggerType | str, **kwargs: Any
) -> Call[Trigger]:
    """Create a trigger (``condition``, ``intent_template``, ``namespace``… as keywords)."""
    body = {"name": name, "type": value_of(trigger_type), **_fields(kwargs)}
    return Call("POST", api("triggers"), model(Trigger), json=body, create=True)


def get_trigger(ctx: Context, /, trigger_id: str) -> Call[Trigger]:
    return Call("GET", api("triggers", trigger_id), model(Trigger))


def list_triggers(
    ctx: Context, /, namespace: str | None = None, trigger_type: TriggerType | str | None = None
) -> Call[list[Trigger]]:
    params = {"namespace": namespace, "type": value_of(trigger_type)}
    return Call("GET", api("triggers"), models(Trigger, "triggers"), params=params)


def update_trigger(ctx: Context, /, trigger_id: str, version: int, **kwargs: Any) -> Call[Trigger]:
    return Call(
        "PATCH",
        api("triggers", trigger_id),
        model(Trigger),
        json=_fields(kwargs),
        headers=if_match(version),
    )


def fire_trigger(ctx: Context, /, trigger_id: str) -> Call[dict[str, Any]]:
    """Fire now; the answer has ``status`` and ``fire_count`` (never retried)."""
    return Call("POST", api("triggers", trigger_id, "fire"), raw)


def delete_trigger(ctx: Context, /, trigger_id: str) -> Call[None]:
    return Call("DELETE", api("triggers", trigger_id), nothing)
