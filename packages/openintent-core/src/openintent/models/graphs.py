"""RFC-0002: intent graphs (the ``GET …/graph`` dump and the dependency request).

Parent and dependency relations live on :class:`~openintent.models.intents.Intent`
itself; the graph dump and the two request bodies have shapes of their own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs

from openintent.core.converter import wire_field
from openintent.models._base import WireModel
from openintent.models.enums import IntentStatus
from openintent.models.portfolios import AggregateStatus

__all__ = [
    "ChildIntentCreateRequest",
    "DependencyAddRequest",
    "GraphEdge",
    "GraphEdgeType",
    "GraphNode",
    "IntentGraph",
]


class GraphEdgeType(StrEnum):
    """Kinds of edge in a graph dump (the server writes only these two)."""

    PARENT = "parent"
    DEPENDENCY = "dependency"


@attrs.define
class GraphNode(WireModel):
    """An intent as it appears in a graph dump: its identity, status and relations."""

    id: str
    title: str
    status: IntentStatus
    parent_id: str | None = None
    depends_on: list[str] = attrs.field(factory=list)


# Keyword-only: mypy takes every ``wire_field`` for a defaulted field.
@attrs.define(kw_only=True)
class GraphEdge(WireModel):
    """``parent`` edges run parent -> child, ``dependency`` edges dependency -> dependent.

    ``from`` is a Python keyword, hence the attribute names.
    """

    from_id: str = wire_field(key="from")
    to_id: str = wire_field(key="to")
    type: GraphEdgeType


@attrs.define
class IntentGraph(WireModel):
    """Body of ``GET /intents/{id}/graph``; ``aggregate_status`` is over ``nodes``."""

    root_id: str
    nodes: list[GraphNode] = attrs.field(factory=list)
    edges: list[GraphEdge] = attrs.field(factory=list)
    aggregate_status: AggregateStatus = attrs.field(factory=AggregateStatus)

    @classmethod
    def build(cls, root_id: str, nodes: list[GraphNode], edges: list[GraphEdge]) -> IntentGraph:
        """A graph whose aggregate status is computed from its nodes."""
        aggregate = AggregateStatus.from_statuses(node.status for node in nodes)
        return cls(root_id=root_id, nodes=nodes, edges=edges, aggregate_status=aggregate)


# -- request bodies -------------------------------------------------------------------


@attrs.define
class DependencyAddRequest(WireModel):
    """Body of ``POST /intents/{id}/dependencies`` (sent with ``If-Match``)."""

    dependency_id: str


@attrs.define
class ChildIntentCreateRequest(WireModel):
    """Body of ``POST /intents/{parent_id}/children``.

    Only these fields are read: the path names the parent, the child always starts as
    ``draft``, is created by the caller and has no governance policy, so ``status``,
    ``created_by``, ``parent_intent_id`` and ``governance_policy`` in the body are
    ignored like any unknown key (the reference client sends ``parent_intent_id``).
    """

    title: str
    description: str = ""
    depends_on: list[str] = wire_field(factory=list, aliases=("dependsOn",))
    constraints: dict[str, Any] = attrs.field(factory=dict)
    state: dict[str, Any] = attrs.field(factory=dict)
