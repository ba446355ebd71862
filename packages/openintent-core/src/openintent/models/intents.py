"""RFC-0001: intents, their state, the event log and agent assignments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import attrs

from openintent.core.converter import register_value_type, wire_field
from openintent.models._base import WireModel
from openintent.models.enums import EventType, IntentStatus

__all__ = [
    "AgentAssignment",
    "AssignAgentRequest",
    "EventCreateRequest",
    "Intent",
    "IntentCreateRequest",
    "IntentEvent",
    "IntentState",
    "PatchOp",
    "StatePatch",
    "StatePatchRequest",
    "StatusChangeRequest",
]


class IntentState:
    """The mutable JSON state of an intent; a thin view over the ``data`` dict.

    Reads work as ``state.get("k")``, ``state["k"]``, ``"k" in state`` and, for keys
    that are valid identifiers, ``state.k``.
    """

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = {} if data is None else data

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IntentState:
        return cls(data)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IntentState):
            return self.data == other.data
        if isinstance(other, dict):
            return self.data == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"IntentState({self.data!r})"


def _structure_state(value: Any) -> IntentState:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return IntentState(value)


register_value_type(IntentState, _structure_state, lambda state: state.data)


# Not slotted: the agent runtime attaches a per-delivery ``ctx`` attribute to intents.
@attrs.define(slots=False)
class Intent(WireModel):
    """A shared goal: title, constraints, JSON state, status and an integer version.

    The reference server names the parent ``parent_id`` in single-object responses and
    ``parent_intent_id`` elsewhere; both are read, ``parent_id`` is the canonical key
    and our server writes both.
    """

    id: str
    title: str
    description: str = ""
    version: int = 1
    status: IntentStatus = IntentStatus.DRAFT
    state: IntentState = attrs.field(factory=IntentState)
    constraints: dict[str, Any] = attrs.field(factory=dict)
    parent_intent_id: str | None = wire_field(
        default=None,
        key="parent_id",
        aliases=("parent_intent_id", "parentIntentId"),
        emit_aliases=("parent_intent_id",),
    )
    depends_on: list[str] = wire_field(factory=list, aliases=("dependsOn",))
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    created_by: str | None = None
    confidence: float = 0.0
    governance_policy: dict[str, Any] | None = None

    @property
    def parent_id(self) -> str | None:
        return self.parent_intent_id

    @property
    def has_parent(self) -> bool:
        return self.parent_intent_id is not None

    @property
    def has_dependencies(self) -> bool:
        return bool(self.depends_on)

    @property
    def effective_governance(self) -> Any:
        """The governance policy in force: the stored one, or the default policy."""
        from openintent.models.governance import GovernancePolicy

        return GovernancePolicy.effective(self.governance_policy)

    @property
    def is_terminal(self) -> bool:
        return self.status in (IntentStatus.COMPLETED, IntentStatus.ABANDONED)


@attrs.define
class IntentEvent(WireModel):
    """One append-only entry of an intent's event log.

    ``event_type`` keeps unknown types as plain strings. The tracing and proof fields
    (RFC-0019/0020) are written only when set.
    """

    id: str
    intent_id: str
    event_type: EventType | str
    actor: str | None = None
    payload: dict[str, Any] = attrs.field(factory=dict)
    created_at: dt.datetime | None = None
    sequence: int | None = wire_field(default=None, omit_if_none=True)
    trace_id: str | None = wire_field(default=None, omit_if_none=True)
    parent_event_id: str | None = wire_field(default=None, omit_if_none=True)
    event_hash: str | None = wire_field(default=None, omit_if_none=True)
    previous_event_hash: str | None = wire_field(default=None, omit_if_none=True)
    proof: dict[str, Any] | None = wire_field(default=None, omit_if_none=True)


@attrs.define
class AgentAssignment(WireModel):
    """An agent attached to an intent (``POST /intents/{id}/agents``)."""

    id: str
    intent_id: str
    agent_id: str
    role: str = "worker"
    assigned_at: dt.datetime | None = None


# -- request bodies -------------------------------------------------------------------


@attrs.define
class IntentCreateRequest(WireModel):
    """Body of ``POST /intents`` (and, without ``parent_intent_id``, of ``…/children``)."""

    title: str
    description: str = ""
    created_by: str | None = None
    parent_intent_id: str | None = wire_field(default=None, aliases=("parent_id", "parentIntentId"))
    depends_on: list[str] = wire_field(factory=list, aliases=("dependsOn",))
    constraints: dict[str, Any] = attrs.field(factory=dict)
    state: dict[str, Any] = attrs.field(factory=dict)
    status: IntentStatus = IntentStatus.DRAFT
    governance_policy: dict[str, Any] | None = None


class PatchOp:
    """The state-patch operations (RFC-0001)."""

    SET = "set"
    APPEND = "append"
    REMOVE = "remove"
    ALL = frozenset({SET, APPEND, REMOVE})


@attrs.define
class StatePatch(WireModel):
    """One operation of a state patch: ``set``, ``append`` or ``remove`` at ``path``."""

    op: str
    path: str
    value: Any = None


@attrs.define
class StatePatchRequest(WireModel):
    """Body of ``POST /intents/{id}/state``: a patch list, or a merge map under ``state``."""

    patches: list[StatePatch] = attrs.field(factory=list)
    state: dict[str, Any] = attrs.field(factory=dict)

    def effective_patches(self) -> list[StatePatch]:
        """The reference rule: a non-empty patch list wins, else ``state`` as top-level sets."""
        if self.patches:
            return list(self.patches)
        return [StatePatch(op=PatchOp.SET, path=key, value=v) for key, v in self.state.items()]


@attrs.define
class StatusChangeRequest(WireModel):
    """Body of ``POST /intents/{id}/status``."""

    status: IntentStatus
    reason: str | None = None


@attrs.define
class EventCreateRequest(WireModel):
    """Body of ``POST /intents/{id}/events``; ``actor`` falls back to the caller's identity."""

    event_type: EventType | str
    actor: str | None = None
    payload: dict[str, Any] = attrs.field(factory=dict)
    trace_id: str | None = None
    parent_event_id: str | None = None


@attrs.define
class AssignAgentRequest(WireModel):
    """Body of ``POST /intents/{id}/agents``."""

    agent_id: str
    role: str = "worker"
