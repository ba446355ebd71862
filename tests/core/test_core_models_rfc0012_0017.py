"""Models of RFC-0012..0017 (and the RFC-0018..0026 names the reference exports).

Every JSON example of the "Observed examples" sections of rfc-0012..rfc-0017 is a
fixture in ``fixtures_0012_0017/`` (an envelope naming the model, the source, how a
trimmed example was completed, and, where our output rightly differs, the expected
output); each must parse and write back the same keys and values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import openintent.models as models
from openintent.core.converter import structure, to_wire, unstructure, wire_field
from openintent.exceptions import ValidationError
from openintent.models import (
    TASK_TRANSITIONS,
    AgentCapacity,
    AgentRecord,
    AgentStatus,
    ChainVerification,
    Channel,
    ChannelMessage,
    Checkpoint,
    CoordinatorLease,
    CoordinatorType,
    Credential,
    CredentialCreateRequest,
    CronSchedule,
    DecisionRecord,
    DeduplicationMode,
    EngagementSignals,
    EscalationStep,
    Guardrails,
    Heartbeat,
    HeartbeatConfig,
    HumanRetryPolicy,
    IntentTemplate,
    MemberPolicy,
    MemoryEntry,
    MemoryPriority,
    MerkleProof,
    MessageType,
    Plan,
    PlanState,
    ResponseType,
    SuspensionChoice,
    SuspensionRecord,
    Task,
    TaskStatus,
    ToolGrant,
    ToolInvocation,
    TracingContext,
    Trigger,
    TriggerCondition,
    TriggerCreateRequest,
    TriggerLineage,
    TriggerType,
    confirm_choices,
    decide_engagement,
    deduplication_outcome,
    derive_agent_status,
    encode_hash,
    eviction_order,
    is_plan_transition_allowed,
    is_task_transition_allowed,
    merge_heartbeat,
    merge_retry_policies,
    merkle_proof,
    merkle_root,
    parse_ttl,
    plan_tasks_finished,
    pool_available_capacity,
    render_template,
    select_grant,
)
from openintent.models._wire_hooks import given_keys, wire_metadata

FIXTURES = Path(__file__).parent / "fixtures_0012_0017"
# The contract the fixtures were taken from; outside the repository, so optional.
SPEC = Path("/work/shared/spec")
T0 = dt.datetime(2026, 11, 26, 8, 20, 15)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def _json(data: Any) -> Any:
    """As it would travel: enum members become their strings."""
    return json.loads(json.dumps(data))


FIXTURE_FILES = sorted(p.name for p in FIXTURES.glob("*.json"))


# -- the observed examples ------------------------------------------------------------


def _example_blocks(spec: Path) -> tuple[int, int]:
    """(response JSON blocks, request blocks with a body) of a spec's §5."""
    section = spec.read_text().split("## 5. Observed examples")[1].split("\n## 6.")[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    responses = sum(1 for kind, _ in blocks if kind == "json")
    requests = sum(1 for kind, text in blocks if kind == "http" and "{" in text)
    return responses, requests


@pytest.mark.parametrize("number", ["0012", "0013", "0014", "0015", "0016", "0017"])
def test_every_spec_example_has_a_fixture(number: str) -> None:
    if not SPEC.is_dir():
        pytest.skip(f"the spec folder {SPEC} is not available here")
    (spec,) = SPEC.glob(f"rfc-{number}-*.md")
    responses, requests = _example_blocks(spec)
    mine = [f for f in FIXTURE_FILES if f.startswith(f"rfc{number}_")]
    assert len([f for f in mine if "request" in f]) >= requests
    assert len([f for f in mine if "request" not in f]) >= responses


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_fixture_round_trips(name: str) -> None:
    fixture = _load(name)
    model = getattr(models, fixture["model"], None)
    if model is None:  # pragma: no cover - owned by another module
        pytest.skip(f"{fixture['model']} is not defined yet")
    parsed = structure(fixture["body"], model)
    written = unstructure(parsed)
    assert _json(written) == fixture.get("expected", fixture["body"])
    assert unstructure(structure(written, model)) == written  # a fixed point
    if "expected" not in fixture:
        assert structure(written, model) == parsed
    wire = _json(to_wire(parsed))
    assert {k: v for k, v in wire.items() if k in written} == _json(written)


def test_fixture_comments_say_how_trimmed_examples_were_completed() -> None:
    for name in FIXTURE_FILES:
        fixture = _load(name)
        assert fixture["comment"], name
        assert fixture["source"], name
        if "expected" in fixture:
            assert fixture["expected"] != fixture["body"], name


# -- names and aliases ----------------------------------------------------------------


def _task(**extra: Any) -> dict[str, Any]:
    return {"id": "t", "intent_id": "i", "name": "n", **extra}


@pytest.mark.parametrize(
    ("model", "data", "attribute", "value"),
    [
        (Task, _task(metadata={"a": 1}), "metadata", {"a": 1}),
        (Plan, {"id": "p", "intent_id": "i", "metadata": {"a": 1}}, "metadata", {"a": 1}),
        (CoordinatorLease, {"id": "l", "type": "human"}, "coordinator_type", CoordinatorType.HUMAN),
        (CoordinatorLease, {"id": "l", "metadata": {"a": 1}}, "metadata", {"a": 1}),
        (Checkpoint, {"after": "t1"}, "after_task", "t1"),
        (
            DecisionRecord,
            {
                "id": "d",
                "coordinator_id": "c",
                "intent_id": "i",
                "decision_type": "plan_created",
                "summary": "s",
                "reasoning": "because",
            },
            "rationale",
            "because",
        ),
        (
            ToolInvocation,
            {"invocation_id": "x", "grant_id": "g", "service": "s", "tool": "t", "agent_id": "a"},
            "invocation_id",
            "x",
        ),
        (AgentRecord, {"agent_id": "a", "metadata": {"v": 1}}, "metadata", {"v": 1}),
        (ChainVerification, {"intent_id": "i", "chain_valid": True}, "valid", True),
        (Trigger, {"id": "t1", "name": "n", "type": "event"}, "trigger_id", "t1"),
        (
            TriggerCreateRequest,
            {"name": "n", "trigger_type": "event", "condition": {"event": "x"}},
            "type",
            TriggerType.EVENT,
        ),
        (
            EscalationStep,
            {"after_attempt": 2, "channel": "sms", "notify": "boss"},
            "notify_to",
            "boss",
        ),
        (
            models.TaskCreateRequest,
            {"intent_id": "i", "name": "n", "task_metadata": {"a": 1}},
            "metadata",
            {"a": 1},
        ),
        (
            models.AgentRegisterRequest,
            {"agent_id": "a", "agent_metadata": {"a": 1}},
            "metadata",
            {"a": 1},
        ),
        (
            Credential,
            {"id": "c", "vault_id": "v", "service": "s", "label": "l", "metadata": {"e": 1}},
            "metadata",
            {"e": 1},
        ),
    ],
)
def test_alias_input_names_parse(
    model: type, data: dict[str, Any], attribute: str, value: Any
) -> None:
    assert getattr(structure(data, model), attribute) == value


def test_escalation_step_alias_properties_are_read_only() -> None:
    step = structure({"after_attempt": 2, "channel": "sms", "notify": "boss"}, EscalationStep)
    assert (step.after_attempt, step.channel, step.notify) == (2, "sms", "boss")
    assert unstructure(step) == {"attempt": 2, "channel_hint": "sms", "notify_to": "boss"}
    with pytest.raises(AttributeError):
        step.channel = "email"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("obj", "canonical", "alias"),
    [
        (Task("t", "i", "n", metadata={"a": 1}), "task_metadata", "metadata"),
        (Plan("p", "i", metadata={"a": 1}), "plan_metadata", "metadata"),
        (CoordinatorLease("l", metadata={"a": 1}), "lease_metadata", "metadata"),
        (AgentRecord("a", metadata={"a": 1}), "agent_metadata", "metadata"),
        (Credential("c", "v", "s", "l", metadata={"a": 1}), "credential_metadata", "metadata"),
        (ToolInvocation("x", "g", "s", "t", "a"), "id", "invocation_id"),
        (ChainVerification("i", True), "valid", "chain_valid"),
    ],
)
def test_to_wire_emits_declared_aliases(obj: Any, canonical: str, alias: str) -> None:
    plain, wire = unstructure(obj), to_wire(obj)
    assert alias not in plain
    assert wire[alias] == wire[canonical] == plain[canonical]


def test_server_only_keys_are_omitted_until_set() -> None:
    record = unstructure(AgentRecord("a"))
    assert not {"public_key", "did", "key_algorithm", "previous_keys"} & record.keys()
    keyed = unstructure(AgentRecord("a", public_key="pk", previous_keys=["old"]))
    assert keyed["public_key"] == "pk"
    assert keyed["previous_keys"] == ["old"]
    assert "credentials" not in unstructure(models.CredentialVault("v", "o", "n"))
    assert unstructure(models.CredentialVault("v", "o", "n", ["c1"]))["credentials"] == ["c1"]


# -- rejected values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Task, _task(version="1")),
        (Task, _task(permissions={"read": True})),  # the RFC's object form is a 422
        (Task, _task(requires_tools=[{"scopes": ["x"]}])),  # service is required
        (Task, _task(attempt=True)),
        (models.TaskUpdateRequest, {"status": "banana"}),
        (models.TaskUpdateRequest, {"output": {}}),  # status is required
        (models.PlanCreateRequest, {"intent_id": "i", "on_failure": "panic"}),
        (models.PlanCreateRequest, {"intent_id": "i", "checkpoints": [{"on_timeout": "never"}]}),
        (models.PlanUpdateRequest, {"state": "sleeping"}),
        (CoordinatorLease, {"id": "l", "coordinator_type": "robot"}),
        (CoordinatorLease, {"id": "l", "scope": "galaxy"}),
        (CoordinatorLease, {"id": "l", "guardrails": {"on_exceed": "explode"}}),
        (Guardrails, {"requires_plan_review": "true"}),
        (models.CoordinatorLeaseCreateRequest, {"agent_id": "a", "heartbeat_interval_seconds": 0}),
        (
            models.DecisionRecordCreateRequest,
            {
                "coordinator_id": "c",
                "intent_id": "i",
                "decision_type": "vibes",
                "summary": "s",
                "rationale": "r",
            },
        ),
        (
            models.DecisionRecordCreateRequest,
            {
                "coordinator_id": "c",
                "intent_id": "i",
                "decision_type": "plan_created",
                "summary": "s",
                "rationale": "r",
                "confidence": 1.5,
            },
        ),
        (Credential, {"id": "c", "vault_id": "v", "service": "s", "label": "l", "status": "lost"}),
        (
            ToolGrant,
            {"id": "g", "credential_id": "c", "agent_id": "a", "granted_by": "u", "source": "x"},
        ),
        (
            ToolGrant,
            {"id": "g", "credential_id": "c", "agent_id": "a", "granted_by": "u", "delegatable": 1},
        ),
        (models.ToolInvokeRequest, {"tool_name": "t", "agent_id": "a", "parameters": []}),
        (
            models.MemoryEntryCreateRequest,
            {"agent_id": "a", "namespace": "n", "key": "k", "value": [1]},
        ),
        (
            models.MemoryEntryCreateRequest,
            {"agent_id": "a", "namespace": "n", "key": "k", "value": {}, "ttl": "forever"},
        ),
        (
            MemoryEntry,
            {
                "id": "m",
                "agent_id": "a",
                "namespace": "n",
                "key": "k",
                "value": {},
                "memory_type": "long",
            },
        ),
        (
            MemoryEntry,
            {
                "id": "m",
                "agent_id": "a",
                "namespace": "n",
                "key": "k",
                "value": {},
                "priority": "urgent",
            },
        ),
        (
            MemoryEntry,
            {
                "id": "m",
                "agent_id": "a",
                "namespace": "n",
                "key": "k",
                "value": {},
                "sensitivity": "secret",
            },
        ),
        (models.MemoryEntryUpdateRequest, {"pinned": "yes"}),
        (AgentRecord, {"agent_id": "a", "status": "banana"}),
        (AgentRecord, {"agent_id": "a", "capabilities": "billing"}),
        (AgentRecord, {"agent_id": "a", "capacity": {"current_load": "3"}}),
        (models.AgentStatusUpdateRequest, {"status": "banana"}),
        (Heartbeat, {"current_load": "3"}),
        (Trigger, {"trigger_id": "t", "name": "n", "type": "cron"}),
        (Trigger, {"trigger_id": "t", "name": "n", "type": "event", "deduplication": "never"}),
        (
            TriggerCreateRequest,
            {"name": "n", "type": "schedule", "condition": {"cron": "every day"}},
        ),
        (TriggerCreateRequest, {"name": "n", "type": "webhook", "condition": {"method": "POST"}}),
        (TriggerCreateRequest, {"name": "n", "type": "event", "condition": {"filter": {}}}),
        (TriggerCreateRequest, {"name": "n", "type": "schedule", "condition": {"at": "soon"}}),
        (models.TriggerUpdateRequest, {"condition": {"starts_at": 5}}),
        (
            ChannelMessage,
            {"id": "m", "channel_id": "c", "sender": "a", "message_type": "shout", "payload": {}},
        ),
        (
            Channel,
            {
                "id": "c",
                "intent_id": "i",
                "name": "n",
                "created_by": "a",
                "members": ["a"],
                "member_policy": "all",
            },
        ),
        (SuspensionRecord, {"id": "s", "question": "q", "response_type": "voice"}),
        (models.IdentityVerification, {"valid": "yes"}),
        (
            MerkleProof,
            {
                "event_id": "e",
                "event_hash": "h",
                "checkpoint_id": "c",
                "merkle_root": "r",
                "leaf_index": "0",
            },
        ),
    ],
)
def test_bad_values_raise_validation_error(model: type, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        structure(data, model)


def test_open_fields_keep_unknown_values() -> None:
    # rfc-0012 §11: a reference server may hold any status string; the client keeps it.
    task = structure(_task(status="banana"), Task)
    assert task.status == "banana"
    assert not task.can_transition_to(TaskStatus.RUNNING)
    plan = structure({"id": "p", "intent_id": "i", "state": "x", "on_failure": "y"}, Plan)
    assert (plan.state, plan.on_failure) == ("x", "y")
    # the proxy records ``timeout``; the adapter is chosen by names outside AuthType
    call = {
        "id": "x",
        "grant_id": "g",
        "service": "s",
        "tool": "t",
        "agent_id": "a",
        "status": "timeout",
    }
    assert structure(call, ToolInvocation).status == "timeout"
    cred = {"id": "c", "vault_id": "v", "service": "s", "label": "l", "auth_type": "webhook"}
    assert structure(cred, Credential).auth_type == "webhook"


# -- secrets --------------------------------------------------------------------------


def test_credential_never_holds_or_writes_secret_metadata() -> None:
    secret = {"environment": "prod", "api_key": "SECRET-1", "password": "SECRET-2", "base_url": "u"}
    cred = Credential("c", "v", "s", "l", metadata=dict(secret))
    assert cred.metadata == {"environment": "prod", "base_url": "u"}
    cred.metadata["client_secret"] = "SECRET-3"  # even a later in-place change is not written
    for out in (unstructure(cred), to_wire(cred), cred.to_dict()):
        assert "SECRET" not in json.dumps(out)
        assert out["credential_metadata"] == {"environment": "prod", "base_url": "u"}
    parsed = structure(
        {"id": "c", "vault_id": "v", "service": "s", "label": "l", "credential_metadata": secret},
        Credential,
    )
    assert "SECRET" not in repr(parsed)


def test_credential_request_keeps_secrets_and_splits_them() -> None:
    body = {
        "vault_id": "v",
        "service": "s",
        "label": "l",
        "metadata": {"api_key": "sk", "region": "eu"},
    }
    request = structure(body, CredentialCreateRequest)
    assert to_wire(request)["metadata"]["api_key"] == "sk"
    assert request.split_metadata() == ({"region": "eu"}, {"api_key": "sk"})


def test_webhook_secret_is_read_but_never_written() -> None:
    condition = structure({"path": "/h", "secret": "whsec"}, TriggerCondition)
    assert condition.secret == "whsec"
    assert "secret" not in unstructure(condition)
    assert "secret" not in to_wire(condition)
    built = TriggerCondition(path="/h", secret="whsec")
    assert "secret" not in unstructure(built)
    trigger = Trigger("t", "n", TriggerType.WEBHOOK, condition=built)
    assert "whsec" not in json.dumps(to_wire(trigger))
    assert "whsec" not in json.dumps(trigger.to_dict())
    # the request body carries it, so a client can send it
    request = structure(
        {"name": "n", "type": "webhook", "condition": {"path": "/h", "secret": "s3"}},
        TriggerCreateRequest,
    )
    assert to_wire(request)["condition"]["secret"] == "s3"
    parsed = request.parsed_condition()
    assert parsed is not None
    assert parsed.secret == "s3"


# -- verbatim and sparse objects ------------------------------------------------------


def test_stored_objects_keep_unknown_keys_and_add_none() -> None:
    raw = {"max_budget_usd": 5, "max_tool_invocations": 100, "allowed_services": ["stripe"]}
    guardrails = structure(raw, Guardrails)
    assert unstructure(guardrails) == raw
    guardrails.warn_at_percentage = 50  # a changed field is written
    assert unstructure(guardrails) == {**raw, "warn_at_percentage": 50}
    assert len(unstructure(Guardrails())) == len(attrs.fields(Guardrails))  # built in Python: all
    capacity = structure({"max_concurrent_tasks": 5, "tasks_in_progress": ["t"]}, AgentCapacity)
    assert unstructure(capacity) == {"max_concurrent_tasks": 5, "tasks_in_progress": ["t"]}


def test_wire_metadata_is_what_wire_field_attaches() -> None:
    # wire_metadata spells wire_field's metadata for required fields; keep them in step.
    kwargs: dict[str, Any] = {"key": "k", "aliases": ("a",), "emit_aliases": ("e",)}
    assert wire_metadata(**kwargs) == dict(wire_field(**kwargs).metadata)


def test_request_bodies_remember_what_was_sent() -> None:
    request = structure({"status": "dead"}, models.AgentStatusUpdateRequest)
    assert given_keys(request) == {"status"}
    assert unstructure(request) == {"status": "dead"}
    built = models.AgentStatusUpdateRequest(status=AgentStatus.DRAINING)
    assert given_keys(built) is None
    assert unstructure(built) == {"status": "draining", "drain_timeout_seconds": None}
    update = structure({"status": "running", "error": None}, models.TaskUpdateRequest)
    assert update.changes() == {"status": TaskStatus.RUNNING}


# -- RFC-0012 rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("pending", "ready", True),
        ("ready", "claimed", True),
        ("claimed", "running", True),
        ("running", "completed", True),
        ("running", "blocked", True),
        ("blocked", "running", True),
        ("failed", "ready", True),
        ("pending", "skipped", True),
        ("blocked", "cancelled", True),
        ("pending", "completed", False),
        ("completed", "running", False),
        ("cancelled", "cancelled", False),
        ("ready", "running", False),
    ],
)
def test_task_state_machine(current: str, target: str, allowed: bool) -> None:
    assert is_task_transition_allowed(current, target) is allowed


def test_task_permissive_mode_allows_reference_jumps_but_not_unknown_values() -> None:
    assert is_task_transition_allowed("pending", "completed", strict=False)
    assert is_task_transition_allowed("banana", "running", strict=False)
    assert not is_task_transition_allowed("pending", "banana", strict=False)
    assert not is_task_transition_allowed("pending", "banana")


def test_task_transitions_cover_every_status() -> None:
    assert set(TASK_TRANSITIONS) == set(TaskStatus)
    for status, targets in TASK_TRANSITIONS.items():
        assert (TaskStatus.CANCELLED in targets) is (status not in models.TERMINAL_TASK_STATUSES)


def test_task_retry_needs_attempts_left_and_dependencies_gate_ready() -> None:
    failed = Task("t", "i", "n", status=TaskStatus.FAILED, attempt=3, max_attempts=3)
    assert not failed.can_transition_to(TaskStatus.READY)
    assert failed.can_transition_to(TaskStatus.READY, strict=False)
    assert Task("t", "i", "n", status=TaskStatus.FAILED, attempt=1).can_transition_to("ready")
    task = Task("t", "i", "n", depends_on=["a", "b"])
    assert not task.dependencies_met({"a"})
    assert task.dependencies_met({"a", "b", "c"})


def test_plan_state_machine_and_completion() -> None:
    assert is_plan_transition_allowed(PlanState.DRAFT, PlanState.ACTIVE)
    assert is_plan_transition_allowed("paused", "active")
    assert not is_plan_transition_allowed("draft", "paused")
    assert not is_plan_transition_allowed("completed", "active")
    assert is_plan_transition_allowed("completed", "active", strict=False)
    assert plan_tasks_finished(["completed", TaskStatus.SKIPPED])
    assert not plan_tasks_finished(["completed", "running"])
    plan = structure(_load("rfc0012_plan_created.json")["body"], Plan)
    assert [c.id for c in plan.checkpoints_after(plan.tasks[0])] == ["cp1"]


# -- RFC-0013 rules -------------------------------------------------------------------


def test_coordinator_heartbeat_rules_match_the_example() -> None:
    lease = structure(_load("rfc0013_coordinator_lease.json")["body"], CoordinatorLease)
    beat = dt.datetime(2026, 11, 26, 8, 19, 12, 663967)
    assert lease.next_heartbeat_at(beat) == dt.datetime(2026, 11, 26, 8, 19, 42, 663967)
    granted = lease.granted_at
    assert granted is not None
    assert lease.missed_heartbeats(granted + dt.timedelta(seconds=59)) == 1
    assert not lease.is_unresponsive(granted + dt.timedelta(seconds=59))
    assert lease.is_unresponsive(granted + dt.timedelta(seconds=60))
    assert not lease.is_expired(granted)
    assert lease.is_expired(dt.datetime(2030, 1, 1))


def test_guardrail_budget_and_capabilities() -> None:
    g = Guardrails(
        max_budget_usd=50.0, allowed_capabilities=["a"], require_human_for_capabilities=["b"]
    )
    assert [g.budget_state(x) for x in (10, 40, 50, 50.01)] == [
        "ok",
        "warning",
        "warning",
        "exceeded",
    ]
    assert Guardrails().budget_state(1e9) == "ok"
    assert g.allows_capability("a")
    assert not g.allows_capability("b")
    assert g.needs_human_for("b")


# -- RFC-0014 rules -------------------------------------------------------------------


def _grant(gid: str, **kw: Any) -> ToolGrant:
    return ToolGrant(gid, kw.pop("credential_id", "cred"), "agent", "user", **kw)


def test_grant_selection_follows_the_reference_order() -> None:
    services = {"c-stripe": "stripe", "c-other": "other"}.get
    by_service = _grant("g1", credential_id="c-stripe")
    by_context = _grant("g2", context={"tools": ["refund"]})
    by_scope = _grant("g3", scopes=["charge"])
    revoked = _grant("g0", scopes=["charge"], status="revoked")
    grants = [revoked, by_service, by_context, by_scope]
    assert select_grant(grants, "charge", services) is by_scope
    assert select_grant(grants, "refund", services) is by_context
    assert select_grant(grants, "stripe", services) is by_service
    assert select_grant(grants, "nothing", services) is None


def test_expired_grant_is_skipped_only_when_now_is_given() -> None:
    expired = _grant("old", scopes=["t"], expires_at=dt.datetime(2020, 1, 1))
    valid = _grant("new", scopes=["t"])
    assert select_grant([expired, valid], "t", lambda _: None) is expired  # reference shadowing
    assert select_grant([expired, valid], "t", lambda _: None, now=T0) is valid


def test_rate_limit_rule() -> None:
    grant = structure(_load("rfc0014_grant.json")["body"], ToolGrant)
    assert grant.constraints is not None
    assert grant.constraints.allows_another(1)
    assert not grant.constraints.allows_another(2)
    assert models.GrantConstraints().allows_another(10**6)


# -- RFC-0015 rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "lifetime"),
    [
        (None, None),
        ("task_lifetime", None),
        ("duration:PT1H", dt.timedelta(hours=1)),
        ("duration:P1DT12H", dt.timedelta(days=1, hours=12)),
        ("duration:P2W", dt.timedelta(weeks=2)),
        ("duration:PT0.5S", dt.timedelta(seconds=0.5)),
        ("duration:PT90M", dt.timedelta(minutes=90)),
    ],
)
def test_parse_ttl(ttl: str | None, lifetime: dt.timedelta | None) -> None:
    assert parse_ttl(ttl) == lifetime


@pytest.mark.parametrize(
    "ttl",
    [
        "forever",
        "duration:",
        "duration:P",
        "duration:PT",
        "duration:P1Y",
        "duration:P1M",
        "duration:P1DT",
        "PT1H",
    ],
)
def test_parse_ttl_refuses_other_forms(ttl: str) -> None:
    with pytest.raises(ValueError, match=r"ttl|duration"):
        parse_ttl(ttl)


def test_memory_expiry_from_ttl_and_expires_at() -> None:
    entry = structure(_load("rfc0015_memory_entry.json")["body"], MemoryEntry)
    written = entry.updated_at
    assert written is not None
    assert entry.effective_expires_at() == written + dt.timedelta(hours=1)
    assert not entry.is_expired(written + dt.timedelta(minutes=59))
    assert entry.is_expired(written + dt.timedelta(hours=1))
    pinned_at = dt.datetime(2030, 1, 1)
    assert attrs.evolve(entry, expires_at=pinned_at).effective_expires_at() == pinned_at
    assert attrs.evolve(entry, ttl="task_lifetime").effective_expires_at() is None
    assert attrs.evolve(entry, ttl="garbage").effective_expires_at() is None
    assert attrs.evolve(entry, ttl="task_lifetime").lives_with_task


def test_memory_uniqueness_and_eviction_order() -> None:
    def entry(key: str, **kw: Any) -> MemoryEntry:
        return MemoryEntry("m-" + key, "agent", "ns", key, {}, **kw)

    assert entry("k").uniqueness_key() == ("agent", "ns", "k")
    assert entry("k", memory_type="semantic").uniqueness_key() == ("ns", "k")
    old, new = dt.datetime(2026, 1, 1), dt.datetime(2026, 6, 1)
    entries = [
        entry("high-old", priority=MemoryPriority.HIGH, updated_at=old),
        entry("normal-new", updated_at=new),
        entry("pinned-low", priority=MemoryPriority.LOW, pinned=True, updated_at=old),
        entry("low-new", priority=MemoryPriority.LOW, updated_at=new),
        entry("normal-old", updated_at=old),
    ]
    assert [e.key for e in eviction_order(entries)] == [
        "low-new",
        "normal-old",
        "normal-new",
        "high-old",
    ]


# -- RFC-0016 rules -------------------------------------------------------------------


def test_agent_health_from_the_observed_example() -> None:
    # rfc-0016 §5: thresholds 2 s / 3 s, four seconds of silence: the RFC says dead.
    record = structure(_load("rfc0016_agent_record_after_heartbeat.json")["body"], AgentRecord)
    beat = record.last_heartbeat_at
    assert beat is not None
    after = [record.health(beat + dt.timedelta(seconds=s)) for s in (1, 2.5, 4)]
    assert after == [AgentStatus.ACTIVE, AgentStatus.UNHEALTHY, AgentStatus.DEAD]


@pytest.mark.parametrize(
    ("status", "silence", "expected"),
    [
        (AgentStatus.UNHEALTHY, 10, AgentStatus.ACTIVE),  # a fresh heartbeat revives
        (AgentStatus.ACTIVE, 91, AgentStatus.UNHEALTHY),
        (AgentStatus.ACTIVE, 301, AgentStatus.DEAD),
        (AgentStatus.DRAINING, 200, AgentStatus.DRAINING),
        (AgentStatus.DRAINING, 301, AgentStatus.DEAD),
        (AgentStatus.DEAD, 0, AgentStatus.DEAD),
        (AgentStatus.DEREGISTERED, 10_000, AgentStatus.DEREGISTERED),
        (AgentStatus.REGISTERING, 10_000, AgentStatus.REGISTERING),
    ],
)
def test_derive_agent_status(status: AgentStatus, silence: int, expected: AgentStatus) -> None:
    assert derive_agent_status(status, T0, T0 + dt.timedelta(seconds=silence)) is expected


def test_agent_without_any_sign_of_life_is_left_alone() -> None:
    assert derive_agent_status(AgentStatus.ACTIVE, None, T0) is AgentStatus.ACTIVE
    assert AgentRecord("a").health(T0) is AgentStatus.ACTIVE
    registered = AgentRecord("a", registered_at=T0)
    assert registered.health(T0 + dt.timedelta(seconds=400)) is AgentStatus.DEAD


def test_heartbeat_config_rules_and_lifecycle_table() -> None:
    example = structure(_load("rfc0016_agent_record.json")["body"], AgentRecord)
    assert example.heartbeat_config is not None
    assert example.heartbeat_config.problems() == [
        "dead_after_seconds must be at least 2 x unhealthy_after_seconds"
    ]
    assert HeartbeatConfig().problems() == []
    assert AgentRecord("a", status=AgentStatus.DEAD).can_transition_to(AgentStatus.ACTIVE)
    assert not AgentRecord("a").can_transition_to(AgentStatus.DEREGISTERED)


def test_merge_heartbeat_reproduces_the_observed_capacity() -> None:
    heartbeat = structure(_load("rfc0016_heartbeat_request.json")["body"], Heartbeat)
    after = _load("rfc0016_agent_record_after_heartbeat.json")["body"]["capacity"]
    assert merge_heartbeat({"max_concurrent_tasks": 5}, heartbeat) == after
    assert merge_heartbeat(None, Heartbeat()) == {"current_load": 0, "tasks_in_progress": []}
    assert heartbeat.clock_drift_exceeded(T0)
    assert not Heartbeat(client_timestamp=T0).clock_drift_exceeded(T0 + dt.timedelta(seconds=60))


def test_pool_capacity() -> None:
    def rec(aid: str, status: str, role: str, cap: AgentCapacity | None) -> AgentRecord:
        return AgentRecord(aid, status=AgentStatus(status), role_id=role, capacity=cap)

    records = [
        rec("a", "active", "billing", AgentCapacity(5, 3)),
        rec("b", "unhealthy", "billing", None),  # defaults 5 / 0
        rec("c", "dead", "billing", AgentCapacity(5, 0)),
        rec("d", "active", "other", AgentCapacity(9, 0)),
    ]
    assert pool_available_capacity(records, "billing") == 7
    assert records[0].available_capacity == 2


# -- RFC-0017 rules -------------------------------------------------------------------


def test_cron_parsing_and_matching() -> None:
    daily = CronSchedule.parse("0 9 * * MON-FRI")
    assert daily.matches(dt.datetime(2026, 11, 26, 9, 0))  # a Thursday
    assert not daily.matches(dt.datetime(2026, 11, 28, 9, 0))  # Saturday
    assert daily.next_after(dt.datetime(2026, 11, 27, 9, 0)) == dt.datetime(2026, 11, 30, 9, 0)
    every = CronSchedule.parse("*/15 * * * *")
    assert every.next_after(dt.datetime(2026, 1, 1, 0, 14, 59)) == dt.datetime(2026, 1, 1, 0, 15)
    # both day fields restricted: either matches; 7 is Sunday
    either = CronSchedule.parse("0 0 1 * 7")
    assert either.matches(dt.datetime(2026, 3, 1))
    assert either.matches(dt.datetime(2026, 3, 8))
    assert not either.matches(dt.datetime(2026, 3, 9))
    assert CronSchedule.parse("0 0 31 2 *").next_after(T0) is None
    for bad in ("* * * *", "60 * * * *", "* * 0 * *", "*/0 * * * *", "x * * * *", "5-1 * * * *"):
        with pytest.raises(ValueError, match="cron"):
            CronSchedule.parse(bad)


def test_trigger_due_and_conditions() -> None:
    trigger = structure(_load("rfc0017_trigger.json")["body"], Trigger)
    assert trigger.due_at(dt.datetime(2026, 11, 26, 9, 0, 30))
    assert not trigger.due_at(dt.datetime(2026, 11, 26, 9, 1))
    disabled = attrs.evolve(trigger, enabled=False)
    assert not disabled.due_at(dt.datetime(2026, 11, 26, 9, 0))
    once = Trigger("t", "n", TriggerType.SCHEDULE, condition=TriggerCondition(at=T0))
    assert once.due_at(T0.replace(second=40))
    assert not once.due_at(T0 + dt.timedelta(minutes=1))
    window = TriggerCondition(cron="* * * * *", starts_at=T0, ends_at=T0 + dt.timedelta(hours=1))
    assert window.within_window(T0)
    assert not window.within_window(T0 - dt.timedelta(seconds=1))
    assert TriggerCondition(cron="* * * * *", starts_at=T0, ends_at=T0 - dt.timedelta(1)).problems(
        "schedule"
    )
    assert TriggerCondition(path="/x", method="FETCH").problems("webhook")


def test_render_template_without_code() -> None:
    variables = {"trigger": {"name": "Daily", "fire_count": 3}, "body": {"items": [{"id": 7}]}}
    assert render_template("{{ trigger.name }} #{{trigger.fire_count}}", variables) == "Daily #3"
    assert render_template("{{ body.items.0.id }}", variables) == 7
    assert render_template("{{ body.items.0 }}", variables, keep_types=False) == '{"id": 7}'
    assert render_template({"a": ["{{ missing.x }}", "x{{ missing }}y"]}, variables) == {
        "a": [None, "xy"]
    }
    assert render_template("{{ __import__('os') }}", variables) == "{{ __import__('os') }}"
    template = IntentTemplate(
        type="t", title="Run {{ body.items.0.id }}", context={"n": "{{ trigger.fire_count }}"}
    )
    rendered = template.render(variables)
    assert rendered["title"] == "Run 7"
    assert rendered["context"] == {"n": 3}


def test_lineage_and_cascade_limit() -> None:
    trigger = Trigger("t1", "n", TriggerType.EVENT)
    first = TriggerLineage.next(trigger)
    assert unstructure(first) == {
        "created_by": "trigger",
        "trigger_id": "t1",
        "trigger_type": "event",
        "trigger_depth": 1,
        "trigger_chain": ["t1"],
    }
    lineage = first
    for _ in range(9):
        lineage = TriggerLineage.next(trigger, lineage)
    assert lineage.trigger_depth == 10
    assert not lineage.exceeds_cascade_limit
    assert TriggerLineage.next(trigger, lineage).exceeds_cascade_limit


@pytest.mark.parametrize(
    ("mode", "active", "pending", "outcome"),
    [
        (DeduplicationMode.ALLOW, True, False, "create"),
        (DeduplicationMode.SKIP, False, False, "create"),
        (DeduplicationMode.SKIP, True, False, "skip"),
        (DeduplicationMode.QUEUE, True, False, "queue"),
        (DeduplicationMode.QUEUE, True, True, "skip"),
        (DeduplicationMode.QUEUE, False, True, "create"),
    ],
)
def test_deduplication_outcome(
    mode: DeduplicationMode, active: bool, pending: bool, outcome: str
) -> None:
    assert deduplication_outcome(mode, active_intent_exists=active, fire_pending=pending) == outcome


# -- RFC-0018..0026 models ------------------------------------------------------------


def _leaves(n: int) -> list[str]:
    return [encode_hash(hashlib.sha256(f"event-{i}".encode()).digest()) for i in range(n)]


@given(st.integers(min_value=1, max_value=40), st.data())
def test_merkle_proofs_verify(count: int, data: st.DataObject) -> None:
    leaves = _leaves(count)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    root = merkle_root(leaves)
    proof = MerkleProof("e", leaves[index], "cp", root, merkle_proof(leaves, index), index)
    assert proof.verify()
    assert structure(unstructure(proof), MerkleProof).verify()
    other = (index + 1) % count
    if other != index:
        assert not attrs.evolve(proof, event_hash=leaves[other]).verify()


def test_merkle_proof_by_hand_and_bad_input() -> None:
    a, b, c = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c"))
    ab = hashlib.sha256(a + b).digest()
    root = encode_hash(hashlib.sha256(ab + c).digest())
    proof = structure(
        {
            "event_id": "e",
            "event_hash": encode_hash(b),
            "checkpoint_id": "cp",
            "merkle_root": root,
            "proof_hashes": [
                {"hash": encode_hash(a), "position": "left"},
                {"hash": encode_hash(c), "position": "right"},
            ],
            "leaf_index": 1,
        },
        MerkleProof,
    )
    assert proof.verify()
    assert merkle_root([encode_hash(x) for x in (a, b, c)]) == root
    assert not attrs.evolve(proof, merkle_root="sha256:***").verify()
    assert not attrs.evolve(proof, event_hash="sha256:!").verify()
    with pytest.raises(ValueError, match="leaf"):
        merkle_root([])


def test_tracing_context() -> None:
    root = TracingContext.new_root()
    assert len(root.trace_id) == 32
    assert int(root.trace_id, 16) >= 0
    assert root.parent_event_id is None
    child = root.child("evt-1")
    assert (child.trace_id, child.parent_event_id) == (root.trace_id, "evt-1")
    assert TracingContext.from_dict({"parent_event_id": "x"}) is None
    assert TracingContext.from_dict(child.to_dict()) == child


def test_channels_and_messages() -> None:
    channel = Channel("c", "i", "n", "a", ["a", "b"], member_policy=MemberPolicy.EXPLICIT)
    assert channel.admits("b")
    assert not channel.admits("z", intent_agents=["z"])
    assert attrs.evolve(channel, member_policy=MemberPolicy.INTENT).admits("z", intent_agents=["z"])
    options = structure({"ttl_seconds": 60}, models.ChannelOptions)
    assert unstructure(options) == {"ttl_seconds": 60}
    full = attrs.evolve(channel, options=options, message_count=1000)
    assert full.is_full
    assert full.message_expiry(T0) == T0 + dt.timedelta(seconds=60)
    request = ChannelMessage("r", "c", "a", MessageType.REQUEST, {}, to="b")
    reply = ChannelMessage("s", "c", "b", MessageType.RESPONSE, {}, to="a", correlation_id="r")
    assert request.is_for("b")
    assert not request.is_for("a")
    assert reply.answers("r")
    assert ChannelMessage("x", "c", "a", MessageType.BROADCAST, {}, to="*").is_for("anyone")


@pytest.mark.parametrize(
    ("signals", "mode"),
    [
        ((0.9, 0.1, 0.9), "autonomous"),
        ((0.9, 0.9, 0.9), "defer"),
        ((0.4, 0.1, 0.9), "require_input"),
        ((0.7, 0.3, 0.5), "request_input"),
        ((0.9, 0.1, 0.05), "defer"),
    ],
)
def test_engagement_rule_matches_the_verified_cases(
    signals: tuple[float, float, float], mode: str
) -> None:
    decision = decide_engagement(EngagementSignals(*signals))
    assert decision.mode == mode
    assert decision.should_ask is (mode in ("require_input", "request_input"))
    assert decision.rationale
    assert decision.signals is not None


def test_suspension_valid_values_and_confirm_choices() -> None:
    record = SuspensionRecord("s", "q", choices=[SuspensionChoice("a", "A")])
    assert record.valid_values() == ["a"]
    assert SuspensionRecord("s", "q").valid_values() is None
    assert (
        SuspensionRecord(
            "s", "q", response_type=ResponseType.TEXT, choices=[SuspensionChoice("a", "A")]
        ).valid_values()
        is None
    )
    confirm = SuspensionRecord(
        "s", "q", response_type=ResponseType.CONFIRM, choices=confirm_choices()
    )
    assert confirm.valid_values() == ["yes", "no"]
    assert confirm.choices[0].style == "primary"


def test_retry_policy_merge_and_expiry() -> None:
    ladder = [EscalationStep(2, "sms", "boss")]
    call = HumanRetryPolicy(max_attempts=5)
    agent = HumanRetryPolicy(interval_seconds=60, escalation_ladder=ladder)
    platform = HumanRetryPolicy(
        max_attempts=9, strategy="linear", final_fallback_policy="complete_with_fallback"
    )
    merged = merge_retry_policies(call, agent, platform)
    assert merged == HumanRetryPolicy(5, 60, "linear", ladder, "complete_with_fallback")
    assert merge_retry_policies(None, agent, None) is agent
    assert merge_retry_policies(None, None) is None
    assert agent.steps_for(2) == ladder
    assert agent.steps_for(1) == []
    assert agent.expires_at(T0) == T0 + dt.timedelta(seconds=180)
    assert HumanRetryPolicy(interval_seconds=0).expires_at(T0, 30) == T0 + dt.timedelta(seconds=30)
    assert HumanRetryPolicy(interval_seconds=0).expires_at(T0) is None


# -- round trips of generated objects -------------------------------------------------

_text = st.text(max_size=8)
_times = st.none() | st.datetimes(min_value=dt.datetime(1970, 1, 1))
_json_scalar = st.none() | st.booleans() | st.integers(-1000, 1000) | _text
_objects = st.dictionaries(_text, _json_scalar, max_size=3)


@given(
    st.builds(
        Task,
        id=_text,
        intent_id=_text,
        name=_text,
        version=st.integers(1, 99),
        status=st.sampled_from(TaskStatus),
        input=_objects,
        output=st.none() | _objects,
        depends_on=st.lists(_text, max_size=3),
        timeout_seconds=st.none() | st.integers(0, 10**6),
        memory_policy=st.none()
        | st.builds(models.MemoryPolicy, max_entries=st.none() | st.integers(0, 99)),
        requires_tools=st.lists(
            st.builds(models.ToolRequirement, service=_text, scopes=st.lists(_text, max_size=2)),
            max_size=2,
        ),
        metadata=_objects,
        created_at=_times,
        completed_at=_times,
    )
)
def test_generated_tasks_round_trip(task: Task) -> None:
    assert structure(_json(unstructure(task)), Task) == task
    assert structure(_json(to_wire(task)), Task) == task


@given(
    st.builds(
        MemoryEntry,
        id=_text,
        agent_id=_text,
        namespace=_text,
        key=_text,
        value=_objects,
        scope=st.none() | st.builds(models.MemoryScope, task_id=st.none() | _text),
        tags=st.lists(_text, max_size=3),
        pinned=st.booleans(),
        updated_at=_times,
    ),
    st.builds(
        Trigger,
        trigger_id=_text,
        name=_text,
        type=st.sampled_from(TriggerType),
        condition=st.none() | st.builds(TriggerCondition, cron=st.none() | _text, starts_at=_times),
        intent_template=st.none() | st.builds(IntentTemplate, title=_text, context=_objects),
        fire_count=st.integers(0, 99),
    ),
    st.builds(
        AgentRecord,
        agent_id=_text,
        status=st.sampled_from(AgentStatus),
        capabilities=st.lists(_text, max_size=3),
        capacity=st.none() | st.builds(AgentCapacity, current_load=st.integers(0, 9)),
        heartbeat_config=st.none() | st.builds(HeartbeatConfig),
        last_heartbeat_at=_times,
        previous_keys=st.lists(_text, max_size=2),
    ),
)
def test_generated_entries_triggers_and_agents_round_trip(
    entry: MemoryEntry, trigger: Trigger, record: AgentRecord
) -> None:
    for obj in (entry, trigger, record):
        assert structure(_json(unstructure(obj)), type(obj)) == obj
