"""RFC-0002: parent/children, dependencies and graph views (sync-only in the reference)."""

from __future__ import annotations

from typing import Any

from openintent.client._call import Call
from openintent.client._endpoint import Context
from openintent.client._parse import model, models, raw
from openintent.client.endpoints._util import api, if_match
from openintent.models import Intent

__all__ = [
    "add_dependency",
    "create_child_intent",
    "get_ancestors",
    "get_blocked_intents",
    "get_children",
    "get_dependencies",
    "get_dependents",
    "get_descendants",
    "get_intent_graph",
    "get_ready_intents",
    "remove_dependency",
]


def create_child_intent(
    ctx: Context,
    /,
    parent_id: str,
    title: str,
    description: str = "",
    constraints: dict[str, Any] | None = None,
    initial_state: dict[str, Any] | None = None,
    depends_on: list[str] | None = None,
) -> Call[Intent]:
    """Create an intent under ``parent_id`` (404 when the parent does not exist)."""
    body = {
        "title": title,
        "description": description,
        "constraints": constraints or {},
        "state": initial_state or {},
        "parent_intent_id": parent_id,
        "depends_on": list(depends_on or []),
    }
    return Call(
        "POST", api("intents", parent_id, "children"), model(Intent), json=body, create=True
    )


def _related(intent_id: str, relation: str) -> Call[list[Intent]]:
    return Call("GET", api("intents", intent_id, relation), models(Intent, relation))


def get_children(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    return _related(intent_id, "children")


def get_descendants(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    return _related(intent_id, "descendants")


def get_ancestors(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    """Nearest parent first, up to the root."""
    return _related(intent_id, "ancestors")


def get_dependencies(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    return _related(intent_id, "dependencies")


def get_dependents(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    return _related(intent_id, "dependents")


def get_ready_intents(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    """Children whose dependencies are all completed."""
    return _related(intent_id, "ready")


def get_blocked_intents(ctx: Context, /, intent_id: str) -> Call[list[Intent]]:
    return _related(intent_id, "blocked")


def add_dependency(
    ctx: Context, /, intent_id: str, dependency_id: str, version: int
) -> Call[Intent]:
    """A cycle or a duplicate raises ``ValidationError`` (400)."""
    return Call(
        "POST",
        api("intents", intent_id, "dependencies"),
        model(Intent),
        json={"dependency_id": dependency_id},
        headers=if_match(version),
    )


def remove_dependency(
    ctx: Context, /, intent_id: str, dependency_id: str, version: int
) -> Call[Intent]:
    return Call(
        "DELETE",
        api("intents", intent_id, "dependencies", dependency_id),
        model(Intent),
        headers=if_match(version),
    )


def get_intent_graph(ctx: Context, /, intent_id: str) -> Call[dict[str, Any]]:
    """The raw graph document (``root_id``, ``nodes``, ``edges``, ``aggregate_status``)."""
    return Call("GET", api("intents", intent_id, "graph"), raw)
