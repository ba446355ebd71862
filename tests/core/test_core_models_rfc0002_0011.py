"""Models of RFC-0002 to RFC-0011: wire examples, name compatibility, strictness, helpers.

The observed examples live in ``fixtures_0002_0011/`` (see its README for the format).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openintent.models as models
from openintent.core import converter as codec
from openintent.core.converter import structure, to_wire, unstructure, utcnow
from openintent.exceptions import ValidationError
from openintent.models import (
    access,
    attachments,
    costs,
    governance,
    graphs,
    leases,
    observability,
    portfolios,
    retry,
    subscriptions,
)
from openintent.models.access import (
    ACLEntry,
    IntentACL,
    IntentContext,
    PeerInfo,
    permission_allows,
)
from openintent.models.attachments import IntentAttachment
from openintent.models.costs import CostSummary, IntentCost
from openintent.models.enums import (
    AccessPolicy,
    CompletionMode,
    CostType,
    EventType,
    IntentStatus,
    LeaseStatus,
    Permission,
    RetryStrategy,
    WriteScope,
)
from openintent.models.governance import (
    ApprovalRequest,
    Decision,
    Escalation,
    GovernancePolicy,
    IntentGovernance,
    governance_policy_error,
    validate_governance_policy,
)
from openintent.models.graphs import GraphEdge, GraphEdgeType, GraphNode, IntentGraph
from openintent.models.intents import Intent, IntentState
from openintent.models.leases import IntentLease
from openintent.models.observability import (
    LLMRequestPayload,
    StreamChunkPayload,
    StreamState,
    ToolCallPayload,
    observability_payload,
    payload_type_for,
)
from openintent.models.portfolios import AggregateStatus, IntentPortfolio
from openintent.models.retry import IntentFailure, RetryPolicy
from openintent.models.subscriptions import IntentSubscription

FIXTURES = Path(__file__).parent / "fixtures_0002_0011"
MODULES = [
    access,
    attachments,
    costs,
    governance,
    graphs,
    leases,
    observability,
    portfolios,
    retry,
    subscriptions,
]
MODELS: list[type] = sorted(
    {
        obj
        for module in MODULES
        for name in module.__all__
        if attrs.has(obj := getattr(module, name))
    },
    key=lambda cls: cls.__name__,
)


def _json(data: object) -> Any:
    """What actually crosses the wire: encode and decode once."""
    return json.loads(json.dumps(data))


def _assert_same(actual: object, expected: object, path: str = "$") -> None:
    """Equal keys and values, and equal JSON types (``1500.0`` is not ``1500``)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert sorted(actual) == sorted(expected), f"{path}: keys differ"
        for key, value in expected.items():
            _assert_same(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_same(a, e, f"{path}[{i}]")
    else:
        assert type(actual) is type(expected), f"{path}: {actual!r} vs {expected!r}"
        assert actual == expected, path


def _cases() -> list[Any]:
    params = []
    for path in sorted(FIXTURES.glob("*.json")):
        for i, case in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            params.append(pytest.param(case, id=f"{path.stem}-{i:02d}-{case['model']}"))
    return params


CASES = _cases()


# -- observed examples ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_observed_example_round_trips(case: dict[str, Any]) -> None:
    cls = getattr(models, case["model"])
    if "rejected" in case:
        with pytest.raises(ValidationError):
            structure(case["data"], cls)
        return
    obj = structure(case["data"], cls)
    expected = case.get("expected", case["data"])
    _assert_same(_json(unstructure(obj)), expected)
    _assert_same(_json(to_wire(obj)), {**expected, **case.get("wire_extra", {})})
    # Both outputs read back to the same object.
    assert structure(_json(unstructure(obj)), cls) == obj
    assert structure(_json(to_wire(obj)), cls) == obj


# Models with no wire example of their own: nested in one (graph parts, aggregate) or
# built by runtimes rather than received (context, peers, delegation payload).
_NO_EXAMPLE = {"AggregateStatus", "DelegationPayload", "GraphEdge", "GraphNode"}
_NO_EXAMPLE |= {"IntentContext", "PeerInfo"}


def test_every_model_has_an_example() -> None:
    covered = {case.values[0]["model"] for case in CASES}
    missing = {cls.__name__ for cls in MODELS} - covered - _NO_EXAMPLE
    assert not missing


def test_models_are_reexported() -> None:
    for module in MODULES:
        for name in module.__all__:
            assert name in models.__all__
            assert getattr(models, name) is getattr(module, name)


# -- hypothesis strategies built from the attrs annotations ---------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=6),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=6,
)


def _non_none(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if tp is Any:
        return _JSON
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(arg) for arg in typing.get_args(tp)))
    if tp is type(None):
        return st.none()
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=10),
        bool: st.booleans(),
        int: st.integers(-(10**9), 10**9),
        float: st.floats(allow_nan=False, allow_infinity=False),
        dt.datetime: st.datetimes(),
    }
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if origin is list:
        return st.lists(strategy_for(typing.get_args(tp)[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(
            st.text(max_size=6), strategy_for(typing.get_args(tp)[1]), max_size=3
        )
    if tp is IntentState:
        return st.builds(IntentState, st.dictionaries(st.text(max_size=6), _JSON, max_size=3))
    if attrs.has(tp):
        return model_strategy(tp)
    raise NotImplementedError(tp)


def model_strategy(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    kwargs = {a.alias: strategy_for(hints[a.name]) for a in attrs.fields(cls)}
    return st.builds(cls, **kwargs)


def _key(field: attrs.Attribute[Any]) -> str:
    return field.metadata.get(codec._KEY) or field.name


model_param = pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)


def _examples(n: int) -> settings:
    # Nested models (IntentContext, portfolios with intents) are slow to generate on a
    # busy machine; that is not a failure.
    slow = [HealthCheck.too_slow, HealthCheck.data_too_large]
    return settings(max_examples=n, deadline=None, suppress_health_check=slow)


@model_param
@_examples(30)
@given(data=st.data())
def test_any_instance_round_trips(cls: type, data: st.DataObject) -> None:
    obj = data.draw(model_strategy(cls))
    assert structure(_json(unstructure(obj)), cls) == obj
    assert structure(_json(to_wire(obj)), cls) == obj


@model_param
@_examples(15)
@given(data=st.data())
def test_every_alias_reads_like_the_key(cls: type, data: st.DataObject) -> None:
    obj = data.draw(model_strategy(cls))
    canonical = _json(unstructure(obj))
    for field in attrs.fields(cls):
        key = _key(field)
        for alias in field.metadata.get(codec._ALIASES, ()):
            if key not in canonical:
                continue  # omitted when unset: nothing to rename
            renamed = {k: v for k, v in canonical.items() if k != key}
            renamed[alias] = canonical[key]
            assert structure(renamed, cls) == obj, (key, alias)


@model_param
@_examples(15)
@given(data=st.data())
def test_to_wire_emits_declared_aliases(cls: type, data: st.DataObject) -> None:
    obj = data.draw(model_strategy(cls))
    exact, wire = _json(unstructure(obj)), _json(to_wire(obj))
    for field in attrs.fields(cls):
        key = _key(field)
        for alias in field.metadata.get(codec._EMIT, ()):
            assert alias not in exact
            if key in exact:
                assert wire[alias] == wire[key]
            else:
                assert alias not in wire
    assert set(wire) - set(exact) == {
        alias
        for field in attrs.fields(cls)
        if _key(field) in exact
        for alias in field.metadata.get(codec._EMIT, ())
    }


# The names the two reference sides use for the same thing (README C12/C13).
ALIAS_FACTS = [
    (
        models.DecisionCreateRequest,
        {"decision_type": "t", "outcome": "o"},
        "rationale",
        "reasoning",
    ),
    (models.Decision, {"decision_id": "d", "outcome": "o"}, "rationale", "reasoning"),
    (models.ArbitrationCreateRequest, {"reason": "r"}, "requested_by", "requester_id"),
    (models.FailureCreateRequest, {}, "error_type", "error_code"),
    (
        models.IntentFailure,
        {"id": "f", "intent_id": "i", "agent_id": None, "attempt_number": 1},
        "error_type",
        "error_code",
    ),
    (
        models.AttachmentCreateRequest,
        {"filename": "f", "size": 1, "storage_url": "u"},
        "mime_type",
        "content_type",
    ),
    (
        models.AttachmentCreateRequest,
        {"filename": "f", "size": 1, "mime_type": "m"},
        "storage_url",
        "url",
    ),
    (
        models.AttachmentCreateRequest,
        {"filename": "f", "mime_type": "m", "storage_url": "u"},
        "size",
        "size_bytes",
    ),
    (
        models.CostCreateRequest,
        {"cost_type": "tokens", "amount": 1.0, "unit": "tokens"},
        "cost_metadata",
        "metadata",
    ),
    (
        models.IntentCost,
        {
            "id": "c",
            "intent_id": "i",
            "agent_id": "a",
            "cost_type": "tokens",
            "amount": 1.0,
            "unit": "u",
        },
        "cost_metadata",
        "metadata",
    ),
    (
        models.IntentPortfolio,
        {"id": "p", "name": "n"},
        "created_at",
        "createdAt",
    ),
    (
        models.RetryPolicy,
        {"id": "r", "intent_id": "i", "strategy": "fixed"},
        "created_at",
        "createdAt",
    ),
    (models.CostSummary, {}, "by_type", "byType"),
    (models.PortfolioMembership, {}, "membership_id", "id"),
    (
        models.AccessRequestCreateRequest,
        {"principal_id": "p"},
        "requested_permission",
        "permission",
    ),
]
_VALUES = {
    "rationale": "because",
    "requested_by": "agent-a",
    "error_type": "TIMEOUT",
    "mime_type": "image/png",
    "storage_url": "https://s/x.png",
    "size": 7,
    "cost_metadata": {"model": "m"},
    "created_at": "2026-11-26T08:19:40.717652",
    "by_type": {"tokens": 2.0},
    "membership_id": "m-1",
    "requested_permission": "admin",
}


@pytest.mark.parametrize(("cls", "base", "key", "alias"), ALIAS_FACTS)
def test_client_names_parse_like_server_names(
    cls: type, base: dict[str, Any], key: str, alias: str
) -> None:
    value = _VALUES[key]
    assert structure({**base, alias: value}, cls) == structure({**base, key: value}, cls)


# -- strictness -----------------------------------------------------------------------

_SKIP = object()


def _wrong_value(tp: Any) -> Any:
    """A value of the wrong JSON type for ``tp`` (``_SKIP`` when any value is fine)."""
    members = _non_none(tp)
    if len(members) == 2 and str in members:  # open enum: any string, never a number
        return 7
    (inner,) = members
    if inner is Any:
        return _SKIP
    wrong: dict[Any, Any] = {
        str: 123,
        int: "1",
        float: "1.5",
        bool: "true",
        dt.datetime: 20260101,
    }
    if inner in wrong:
        return wrong[inner]
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return "no-such-value"
    if typing.get_origin(inner) is list:
        return {"not": "an array"}
    return ["an", "array", "where", "an", "object", "belongs"]


@model_param
@_examples(5)
@given(data=st.data())
def test_wrong_types_are_rejected(cls: type, data: st.DataObject) -> None:
    base = _json(unstructure(data.draw(model_strategy(cls))))
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        bad = _wrong_value(hints[field.name])
        if bad is _SKIP:
            continue
        with pytest.raises(ValidationError):
            structure({**base, _key(field): bad}, cls)


@model_param
def test_arrays_where_objects_belong_are_rejected(cls: type) -> None:
    with pytest.raises(ValidationError):
        structure([], cls)


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (models.IntentLease, {"id": "l", "intent_id": "i", "agent_id": "a", "scope": "s"}),
        (models.Escalation, {"id": "e", "intent_id": "i", "escalated_by": "a"}),
        (models.IntentAttachment, {"id": "a", "intent_id": "i", "filename": "f"}),
        (models.IntentCost, {"id": "c", "amount": 1.0, "unit": "u"}),
        (models.ACLGrantRequest, {"permission": "read"}),
        (models.LeaseAcquireRequest, {"duration_seconds": 60}),
        (models.DependencyAddRequest, {}),
    ],
)
def test_required_keys_are_required(cls: type, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        structure(data, cls)


_SAMPLES: dict[str, Any] = {
    "Escalation": Escalation(id="e", intent_id="i", escalated_by="a", reason="r"),
    "ApprovalRequest": ApprovalRequest(id="a", intent_id="i", requested_by="r", action="complete"),
    "AccessRequest": models.AccessRequest(id="r", intent_id="i", principal_id="p"),
    "PortfolioMembership": models.PortfolioMembership(id="m"),
    "GraphNode": GraphNode(id="n", title="t", status=IntentStatus.DRAFT),
    "GraphEdge": GraphEdge(from_id="a", to_id="b", type=GraphEdgeType.PARENT),
    "GovernancePolicy": GovernancePolicy(),
    "IntentACL": IntentACL(intent_id="i"),
}


@pytest.mark.parametrize(
    ("cls", "key", "value"),
    [
        (models.Escalation, "status", "acknowledged-ish"),
        (models.ApprovalRequest, "status", "maybe"),
        (models.AccessRequest, "status", "expired"),
        (models.AccessRequest, "requested_permission", "owner"),
        (models.PortfolioMembership, "role", "observer"),
        (models.GraphNode, "status", "in_progress"),
        (models.GraphEdge, "type", "sibling"),
        (models.GovernancePolicy, "completion_mode", "majority"),
        (models.GovernancePolicy, "write_scope", "owners"),
        (models.IntentACL, "default_policy", "private"),
    ],
)
def test_closed_enums_reject_unknown_values(cls: type, key: str, value: str) -> None:
    base = _json(unstructure(_SAMPLES[cls.__name__]))
    with pytest.raises(ValidationError):
        structure({**base, key: value}, cls)


def test_open_values_stay_strings() -> None:
    escalation = structure(
        {"id": "e", "intent_id": "i", "escalated_by": "", "reason": "r", "priority": "p0"},
        Escalation,
    )
    assert escalation.priority == "p0"
    assert (
        structure(
            {"id": "e", "intent_id": "i", "escalated_by": "", "reason": "r"}, Escalation
        ).priority
        == "medium"
    )
    cost = structure(
        {
            "id": "c",
            "intent_id": "i",
            "agent_id": "a",
            "cost_type": "tokens",
            "amount": 1,
            "unit": "u",
        },
        IntentCost,
    )
    assert cost.cost_type is CostType.TOKENS
    assert cost.amount == 1.0
    assert isinstance(cost.amount, float)
    sub = structure({"id": "s", "event_types": ["lease_renewed", "x.custom"]}, IntentSubscription)
    assert sub.event_types == [EventType.LEASE_RENEWED, "x.custom"]


# -- leases ---------------------------------------------------------------------------

T0 = dt.datetime(2026, 11, 26, 8, 19, 15)


def _lease(**changes: Any) -> IntentLease:
    data = {
        "id": "l",
        "intent_id": "i",
        "agent_id": "dev-user-key",
        "scope": "research",
        "acquired_at": T0.isoformat(),
        "expires_at": (T0 + dt.timedelta(seconds=60)).isoformat(),
        "released_at": None,
    }
    return structure({**data, **changes}, IntentLease)


def test_lease_status_is_derived_from_times() -> None:
    lease = _lease()
    assert lease.created_at == lease.acquired_at == T0
    assert lease.status_at(T0) is LeaseStatus.ACTIVE
    assert lease.is_active_at(T0)
    assert lease.status_at(T0 + dt.timedelta(seconds=60)) is LeaseStatus.EXPIRED
    assert not lease.is_active_at(T0 + dt.timedelta(minutes=5))
    released = _lease(released_at=(T0 + dt.timedelta(seconds=5)).isoformat())
    assert released.status_at(T0) is LeaseStatus.RELEASED
    assert not released.is_active_at(T0)


def test_lease_status_uses_the_utc_clock() -> None:
    now = utcnow()
    live = _lease(acquired_at=now.isoformat(), expires_at=(now + dt.timedelta(hours=1)).isoformat())
    assert live.status is LeaseStatus.ACTIVE
    assert live.is_active
    old = _lease(
        acquired_at=now.isoformat(), expires_at=(now - dt.timedelta(seconds=1)).isoformat()
    )
    assert old.status is LeaseStatus.EXPIRED
    assert not old.is_active


def test_lease_explicit_status_wins_and_is_written() -> None:
    lease = _lease(status="revoked")
    assert lease.status_at(T0) is LeaseStatus.REVOKED
    assert not lease.is_active_at(T0)
    assert unstructure(lease)["status"] == "revoked"
    # An explicit "active" past expiry is still not active (as in the reference client).
    assert not _lease(status="active").is_active_at(T0 + dt.timedelta(hours=1))

    derived = _lease()
    assert "status" not in unstructure(derived)
    fixed = derived.with_status(T0 + dt.timedelta(hours=1))
    assert unstructure(fixed)["status"] == "expired"
    assert "status" not in unstructure(derived)  # with_status copies

    derived.status = LeaseStatus.RELEASED
    assert to_wire(derived)["status"] == "released"
    made = IntentLease(
        id="l", intent_id="i", agent_id="a", scope="s", expires_at=T0, status=LeaseStatus.ACTIVE
    )
    assert made.status_at(T0 + dt.timedelta(days=1)) is LeaseStatus.ACTIVE


# -- aggregate status and graphs ------------------------------------------------------


def test_aggregate_status_from_statuses() -> None:
    assert AggregateStatus.from_statuses([]) == AggregateStatus(0, {}, 0)
    agg = AggregateStatus.from_statuses([IntentStatus.COMPLETED, "completed", IntentStatus.DRAFT])
    assert agg == AggregateStatus(3, {"completed": 2, "draft": 1}, 66)
    assert unstructure(agg) == {
        "total": 3,
        "by_status": {"completed": 2, "draft": 1},
        "completion_percentage": 66,
    }


@given(st.lists(st.sampled_from(list(IntentStatus))))
def test_aggregate_status_invariants(statuses: list[IntentStatus]) -> None:
    agg = AggregateStatus.from_statuses(statuses)
    assert agg.total == len(statuses) == sum(agg.by_status.values())
    completed = statuses.count(IntentStatus.COMPLETED)
    expected = math.floor(100 * completed / len(statuses)) if statuses else 0
    assert agg.completion_percentage == expected
    assert 0 <= agg.completion_percentage <= 100


def test_graph_build_computes_the_aggregate() -> None:
    (observed,) = [c.values[0] for c in CASES if c.values[0]["model"] == "IntentGraph"]
    graph = structure(observed["data"], IntentGraph)
    rebuilt = IntentGraph.build(graph.root_id, graph.nodes, graph.edges)
    assert rebuilt == graph
    edge = graph.edges[0]
    assert (edge.from_id, edge.type) == (graph.root_id, GraphEdgeType.PARENT)
    assert unstructure(edge)["from"] == graph.root_id


# -- governance -----------------------------------------------------------------------

MODES = "{'auto', 'require_approval', 'quorum'}"


@pytest.mark.parametrize(
    ("policy", "detail"),
    [
        ({}, None),
        ({"completion_mode": "quorum", "quorum_threshold": 1, "custom": [1]}, None),
        ({"max_cost": None}, None),
        ({"max_cost": 0}, None),
        ({"allowed_agents": ["a"], "require_status_reason": True}, None),
        (
            {"completion_mode": "bogus"},
            f"Invalid completion_mode 'bogus'. Must be one of: {MODES}",
        ),
        ({"completion_mode": None}, f"Invalid completion_mode 'None'. Must be one of: {MODES}"),
        (
            {"completion_mode": "bogus", "write_scope": "bogus"},
            f"Invalid completion_mode 'bogus'. Must be one of: {MODES}",
        ),
        (
            {"write_scope": "owners", "max_cost": -1},
            "Invalid write_scope 'owners'. Must be one of: {'any', 'assigned_only'}",
        ),
        *[
            (
                {"quorum_threshold": bad},
                "quorum_threshold must be a number between 0 (exclusive) and 1 (inclusive)",
            )
            for bad in (0, 1.5, -0.1, "0.5", True, None, float("nan"))
        ],
        *[
            ({"max_cost": bad}, "max_cost must be a non-negative number")
            for bad in (-1, -0.01, "10", False)
        ],
        ({"allowed_agents": "agent-a"}, "allowed_agents must be a list of strings"),
        ({"allowed_agents": [1]}, "allowed_agents must be a list of strings"),
        ({"require_status_reason": "yes"}, "require_status_reason must be a boolean"),
        ([], "governance policy must be a JSON object"),
    ],
)
def test_governance_policy_checks(policy: Any, detail: str | None) -> None:
    assert governance_policy_error(policy) == detail
    if detail is None:
        assert isinstance(validate_governance_policy(policy), GovernancePolicy)
    else:
        with pytest.raises(ValidationError) as info:
            validate_governance_policy(policy)
        assert info.value.message == detail
        assert info.value.errors == [detail]


_POLICY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(-1, 2),
    st.sampled_from(["auto", "quorum", "require_approval", "any", "assigned_only", "x"]),
    st.lists(st.text(max_size=3), max_size=2),
)
_POLICY_KEYS = st.sampled_from(
    [
        "completion_mode",
        "write_scope",
        "quorum_threshold",
        "allowed_agents",
        "max_cost",
        "require_status_reason",
        "other",
    ]
)


@given(st.dictionaries(_POLICY_KEYS, _POLICY_VALUES))
def test_a_policy_that_passes_the_checks_always_parses(policy: dict[str, Any]) -> None:
    if governance_policy_error(policy) is None:
        effective = GovernancePolicy.effective(policy)
        assert effective.completion_mode == policy.get("completion_mode", "auto")
    else:
        with pytest.raises(ValidationError):
            validate_governance_policy(policy)


def test_governance_policy_defaults_and_helpers() -> None:
    policy = GovernancePolicy()
    assert policy.is_default
    assert unstructure(policy) == {
        "completion_mode": "auto",
        "quorum_threshold": 0.6,
        "write_scope": "any",
        "allowed_agents": [],
        "max_cost": None,
        "require_status_reason": False,
    }
    assert GovernancePolicy.effective(None) == policy
    assert GovernancePolicy.effective({"custom": 1}) == policy
    strict = GovernancePolicy.effective(
        {"completion_mode": "quorum", "write_scope": "assigned_only", "allowed_agents": ["a"]}
    )
    assert strict.completion_mode is CompletionMode.QUORUM
    assert strict.write_scope is WriteScope.ASSIGNED_ONLY
    assert not strict.is_default
    assert strict.allows_agent("a")
    assert not strict.allows_agent("b")
    assert policy.allows_agent("anyone")


def test_lenient_policy_keeps_the_usable_keys() -> None:
    stored = {"completion_mode": "bogus", "max_cost": 5, "allowed_agents": "a", "x": 1}
    assert GovernancePolicy.lenient(stored) == GovernancePolicy(max_cost=5.0)
    assert GovernancePolicy.lenient(None) == GovernancePolicy()
    good = {"completion_mode": "quorum", "quorum_threshold": 0.5}
    assert GovernancePolicy.lenient(good) == GovernancePolicy.effective(good)


@pytest.mark.parametrize(
    ("assigned", "threshold", "required"),
    [(3, 0.5, 1), (4, 0.5, 2), (0, 0.6, 1), (5, 0.6, 3), (10, 1.0, 10), (1, 0.01, 1)],
)
def test_quorum_size(assigned: int, threshold: float, required: int) -> None:
    policy = GovernancePolicy(completion_mode=CompletionMode.QUORUM, quorum_threshold=threshold)
    assert policy.required_approvals(assigned) == required


def test_governance_view() -> None:
    empty = IntentGovernance.of("i", None)
    assert _json(unstructure(empty)) == {
        "intent_id": "i",
        "governance_policy": {},
        "effective_policy": _json(unstructure(GovernancePolicy())),
    }
    stored = {
        "completion_mode": "require_approval",
        "require_status_reason": True,
        "custom": "kept",
    }
    view = IntentGovernance.of("5d2d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e70", stored)
    (observed,) = [c.values[0] for c in CASES if c.values[0]["model"] == "IntentGovernance"]
    _assert_same(_json(unstructure(view)), observed["data"])


def test_governance_objects_helpers() -> None:
    assert Escalation(id="e", intent_id="i", escalated_by="", reason="r").is_resolved is False
    approval = ApprovalRequest(id="a", intent_id="i", requested_by="", action="complete")
    assert approval.is_pending
    decision = Decision(id="d", outcome="o", reasoning="why")
    assert to_wire(decision) == {
        "decision_id": "d",
        "id": "d",
        "outcome": "o",
        "rationale": "why",
        "reasoning": "why",
        "message": "Decision recorded",
    }


# -- costs, retry, attachments, portfolios, subscriptions -----------------------------


def test_cost_summary_from_costs() -> None:
    def cost(agent: str, kind: str, amount: float) -> IntentCost:
        return IntentCost("c", "i", agent, kind, amount, "u")

    summary = CostSummary.from_costs(
        [cost("a", "tokens", 10), cost("b", "tokens", 2.5), cost("a", CostType.COMPUTE, 1)]
    )
    assert summary == CostSummary(13.5, {"tokens": 12.5, "compute": 1.0}, {"a": 11.0, "b": 2.5})
    assert CostSummary.from_costs([]) == CostSummary()


@pytest.mark.parametrize(
    ("strategy", "delays"),
    [
        (RetryStrategy.NONE, [0, 0, 0]),
        (RetryStrategy.FIXED, [1000, 1000, 1000]),
        (RetryStrategy.LINEAR, [1000, 2000, 3000]),
        (RetryStrategy.EXPONENTIAL, [1000, 2000, 4000]),
    ],
)
def test_retry_delays(strategy: RetryStrategy, delays: list[int]) -> None:
    policy = RetryPolicy(id="r", intent_id="i", strategy=strategy)
    assert [policy.delay_ms(n) for n in (1, 2, 3)] == delays
    capped = RetryPolicy(id="r", intent_id="i", strategy=strategy, max_delay_ms=1500)
    assert all(capped.delay_ms(n) <= 1500 for n in range(1, 40))


def test_renamed_fields_keep_both_names() -> None:
    failure = structure(
        {
            "id": "f",
            "intent_id": "i",
            "agent_id": None,
            "attempt_number": 2,
            "error_type": "RATE_LIMIT",
            "error_message": "",
            "occurred_at": T0.isoformat(),
        },
        IntentFailure,
    )
    assert failure.error_code == failure.error_type == "RATE_LIMIT"
    assert failure.created_at == failure.occurred_at == T0
    attachment = IntentAttachment(
        id="a", intent_id="i", filename="f", mime_type="m", size=1, storage_url="u", uploaded_by="k"
    )
    assert attachment.created_by == "k"
    assert unstructure(attachment)["created_by"] == "k"
    portfolio = IntentPortfolio(id="p", name="n")
    assert portfolio.intent_count == 0
    portfolio.intents = [Intent(id="x", title="t")]
    assert portfolio.intent_count == 1


def test_client_only_collections_default_empty_and_stay_off_the_wire_while_empty() -> None:
    attachment = IntentAttachment("a", "i", "f", "m", 1, "u")  # the reference client's order
    portfolio = IntentPortfolio(id="p", name="n")
    failure = IntentFailure(id="f", intent_id="i", agent_id=None, attempt_number=1)
    assert attachment.metadata == portfolio.metadata == failure.metadata == {}
    assert portfolio.intents == []
    for obj, keys in ((attachment, {"metadata"}), (portfolio, {"metadata", "intents"})):
        assert not keys & set(unstructure(obj))
        assert not keys & set(to_wire(obj))
    assert "metadata" not in unstructure(failure)
    attachment.metadata["pages"] = 3
    assert unstructure(attachment)["metadata"] == {"pages": 3}


def test_subscription_helpers() -> None:
    sub = IntentSubscription(id="s", event_types=[EventType.STATUS_CHANGED, "x.custom"])
    assert sub.matches("status_changed")
    assert sub.matches("x.custom")
    assert not sub.matches(EventType.COMMENT)
    assert IntentSubscription(id="s").matches("anything")
    assert sub.is_live_at(T0)
    expiring = IntentSubscription(id="s", expires_at=T0)
    assert expiring.is_live_at(T0 - dt.timedelta(seconds=1))
    assert not expiring.is_live_at(T0)
    assert not IntentSubscription(id="s", active=False).is_live_at(T0)


# -- observability --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "model"),
    [
        ("llm_request_started", LLMRequestPayload),
        (EventType.LLM_REQUEST_COMPLETED, LLMRequestPayload),
        ("llm_request_failed", LLMRequestPayload),
        ("tool_call_started", ToolCallPayload),
        ("tool_call_completed", ToolCallPayload),
        ("tool_call_failed", ToolCallPayload),
        ("stream_started", StreamState),
        ("stream_completed", StreamState),
        ("stream_cancelled", StreamState),
        ("stream_chunk", StreamChunkPayload),
        ("comment", None),
        ("x.custom", None),
    ],
)
def test_observability_payload_types(event_type: str, model: type | None) -> None:
    assert payload_type_for(event_type) is model


def test_observability_payload_parsing() -> None:
    chunk = observability_payload("stream_chunk", {"stream_id": "s", "chunk_index": 4})
    assert chunk == StreamChunkPayload("s", 4, 1)
    assert observability_payload("comment", {"note": "hi"}) is None
    with pytest.raises(ValidationError):
        observability_payload("stream_chunk", {"stream_id": "s", "chunk_index": "4"})


def test_llm_payload_drops_empty_values() -> None:
    payload = LLMRequestPayload(
        request_id="r",
        provider="p",
        model="m",
        messages_count=0,
        tools_available=[],
        response_content="",
        tool_calls=[],
    )
    assert unstructure(payload) == {
        "request_id": "r",
        "provider": "p",
        "model": "m",
        "messages_count": 0,
        "stream": False,
    }


# -- access control -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        ("read", "read", True),
        ("read", "write", False),
        (Permission.WRITE, "read", True),
        ("admin", Permission.WRITE, True),
        ("write", "admin", False),
        (None, "read", False),
        ("owner", "read", False),
    ],
)
def test_permission_levels(granted: str | None, required: str, allowed: bool) -> None:
    assert permission_allows(granted, required) is allowed


def test_acl_lookup_and_context() -> None:
    acl = IntentACL(
        intent_id="i",
        default_policy=AccessPolicy.CLOSED,
        entries=[
            ACLEntry("1", "agent-a", permission=Permission.READ),
            ACLEntry("2", "agent-a", permission=Permission.ADMIN, expires_at=T0),
            ACLEntry("3", "team", "group", Permission.WRITE),
        ],
    )
    assert acl.permission_for("agent-a") is Permission.ADMIN
    assert acl.permission_for("agent-a", now=T0) is Permission.READ  # the admin grant expired
    assert acl.permission_for("nobody") is None
    assert acl.peers == [
        PeerInfo("agent-a", "agent", Permission.READ),
        PeerInfo("agent-a", "agent", Permission.ADMIN),
        PeerInfo("team", "group", Permission.WRITE),
    ]

    ctx = IntentContext(delegated_by="boss")
    ctx.apply_acl(acl, "team")
    assert ctx.acl is acl
    assert ctx.my_permission is Permission.WRITE
    assert len(ctx.peers) == 3
    assert structure(_json(to_wire(ctx)), IntentContext) == ctx
