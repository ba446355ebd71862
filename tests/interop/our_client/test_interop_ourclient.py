"""Our client drives a live server through every method it serves.

Runs against each server of ``conftest.SERVERS`` (the reference release 0.17.0 and our
server), each test once through the sync client and once through the async client
(``client`` in conftest). The methods the reference server cannot serve are listed in
``UNSERVED`` with the spec's reason (spec README C14) and checked to fail the way the
spec says; the last test checks that every public method of both clients, namespace
views included, was answered by the reference server or is listed there.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.client._endpoint import Dispatcher
from openintent.exceptions import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LeaseConflictError,
    NotFoundError,
    OpenIntentError,
    ValidationError,
)
from openintent.models import (
    AccessPolicy,
    EventType,
    Intent,
    IntentStatus,
    MembershipRole,
    Permission,
    PortfolioStatus,
    RetryStrategy,
)
from openintent.streaming import SSEEvent, SSEEventType, SSEStream

# Reference-server gaps (spec README C14 and sdk.md section 8): method -> (error, reason).
UNSERVED: dict[str, tuple[type[OpenIntentError], str]] = {
    "list_intents": (OpenIntentError, "C14: GET /api/v1/intents is not a route (405)"),
    "unassign_agent": (NotFoundError, "C14: DELETE /intents/{id}/agents/{agent} is not served"),
    "subscribe": (NotFoundError, "C14/rfc-0006 part C: no /api/v1/subscriptions routes"),
    "get_subscriptions": (NotFoundError, "C14/rfc-0006 part C: no /api/v1/subscriptions routes"),
    "unsubscribe": (NotFoundError, "C14/rfc-0006 part C: no /api/v1/subscriptions routes"),
}

# Federation is off in a reference server started from its CLI: neither its flags nor its
# ServerConfig can turn it on (only a programmatic call inside the server process can),
# and the spec has no RFC-0022 file. These calls get the answers of the switched-off
# routes; federation_status and list_federated_agents work and are checked for real.
FEDERATION_OFF: dict[str, tuple[type[OpenIntentError], str]] = {
    "federation_discover": (NotFoundError, "federation disabled: discovery answers 404"),
    "federation_dispatch": (ValidationError, "federation disabled: dispatch answers 400"),
    "federation_receive": (ValidationError, "federation disabled: receive answers 400"),
    "send_federation_callback": (
        OpenIntentError,
        "needs a federated peer's callback URL; the reference's own receive route is off",
    ),
}

# Client methods that send nothing (the fixtures close every client).
NOT_CALLS = {"close"}


def new_intent(client: OpenIntentClient, **kw: Any) -> Intent:
    return client.create_intent(f"interop {uuid.uuid4().hex[:8]}", **kw)


# -- RFC-0001 -------------------------------------------------------------------------


def test_discovery_and_config(client: OpenIntentClient) -> None:
    assert "version" in client.discover()
    assert "protocol_version" in client.get_server_config()


def test_intent_lifecycle(client: OpenIntentClient) -> None:
    intent = client.create_intent("Root", "d", {"deadline": "x"}, {"a": 1}, governance_policy=None)
    assert (intent.version, intent.status, intent.state["a"]) == (1, IntentStatus.DRAFT, 1)
    assert client.get_intent(intent.id).title == "Root"
    patched = client.update_state(intent.id, intent.version, {"b": 2})
    assert patched.version == 2
    assert patched.state.data == {"a": 1, "b": 2}
    active = client.set_status(intent.id, patched.version, "active")  # README: plain string
    assert active.status is IntentStatus.ACTIVE
    swapped = client.set_status(intent.id, IntentStatus.BLOCKED, active.version, reason="wait")
    assert swapped.status is IntentStatus.BLOCKED
    with pytest.raises(ConflictError):
        client.update_state(intent.id, 1, {"c": 3})
    event = client.log_event(intent.id, EventType.COMMENT, {"note": "hi"}, trace_id="t1")
    assert event.event_type == EventType.COMMENT
    custom = client.log_event(intent.id, "tool_invocation", {"x": 1})
    assert custom.event_type == "tool_invocation"
    events = client.get_events(intent.id)
    kinds = [e.event_type for e in events]
    assert "tool_invocation" in kinds
    assert EventType.STATE_PATCHED in kinds
    assert [e.id for e in client.get_events(intent.id, event_type="comment")] == [event.id]
    assignment = client.assign_agent(intent.id, "worker-1")
    assert assignment["agent_id"] == "worker-1"
    assert client.patch_state(intent.id, {"c": 3}).state["c"] == 3
    done = client.complete_intent(intent.id, {"result": "ok"})
    assert done.status is IntentStatus.COMPLETED
    assert done.state["result"] == "ok"


def test_not_found_and_auth_errors(client: OpenIntentClient, server: Any) -> None:
    with pytest.raises(NotFoundError) as err:
        client.get_intent("no-such-intent")
    assert err.value.status_code == 404
    with (
        OpenIntentClient(server.base_url, "wrong-key", "x") as stranger,
        pytest.raises(AuthenticationError),
    ):
        stranger.get_intent("anything")


def test_validation_error_from_422(client: OpenIntentClient) -> None:
    with pytest.raises(ValidationError) as err:
        client.get_events("x", limit=0)  # limit must be 1..1000
    assert err.value.status_code == 422
    assert err.value.errors


def test_tolerant_parsing(client: OpenIntentClient, server: Any) -> None:
    """sdk.md 2.1 and 5.2 [FIX]: what the reference client chokes on reads fine here.

    Event types outside ``EventType`` that the servers write themselves
    (``lease_renewed``, ``escalation_initiated``, ``escalation_resolved``), a bare array
    (leases and decisions on the reference server) and a wrapped list (children).
    """
    intent = new_intent(client)
    lease = client.acquire_lease(intent.id, "tolerant", 60)
    client.renew_lease(intent.id, lease.id, 120)
    escalation = client.escalate_to_human(intent.id, "stuck")
    client.resolve_escalation(escalation.id, "fixed")
    kinds = {str(e.event_type) for e in client.get_events(intent.id)}
    assert {"lease_renewed", "escalation_initiated", "escalation_resolved"} <= kinds
    raw = httpx.get(
        f"{server.base_url}/api/v1/intents/{intent.id}/leases",
        headers={"X-API-Key": server.api_key},
    ).json()
    if server.name == "reference":
        assert isinstance(raw, list)  # the shape that crashes the reference client
    assert [x.id for x in client.get_leases(intent.id)] == [lease.id]
    child = client.create_child_intent(intent.id, "child")
    raw_children = httpx.get(
        f"{server.base_url}/api/v1/intents/{intent.id}/children",
        headers={"X-API-Key": server.api_key},
    ).json()
    assert isinstance(raw_children, dict)
    assert [i.id for i in client.get_children(intent.id)] == [child.id]
    client.release_lease(intent.id, lease.id)


# -- RFC-0002 -------------------------------------------------------------------------


def test_graph(client: OpenIntentClient) -> None:
    parent = new_intent(client)
    a = client.create_child_intent(parent.id, "A")
    b = client.create_child_intent(parent.id, "B", depends_on=[a.id], initial_state={"k": 1})
    assert b.parent_intent_id == parent.id
    assert {i.id for i in client.get_children(parent.id)} == {a.id, b.id}
    assert {i.id for i in client.get_descendants(parent.id)} == {a.id, b.id}
    assert [i.id for i in client.get_ancestors(b.id)] == [parent.id]
    assert [i.id for i in client.get_dependencies(b.id)] == [a.id]
    assert [i.id for i in client.get_dependents(a.id)] == [b.id]
    assert a.id in {i.id for i in client.get_ready_intents(parent.id)}
    assert b.id in {i.id for i in client.get_blocked_intents(parent.id)}
    c = new_intent(client)
    with_dep = client.add_dependency(a.id, c.id, a.version)
    assert with_dep.depends_on == [c.id]
    with pytest.raises(ValidationError):  # duplicate dependency: 400
        client.add_dependency(a.id, c.id, with_dep.version)
    without = client.remove_dependency(a.id, c.id, with_dep.version)
    assert without.depends_on == []
    graph = client.get_intent_graph(parent.id)
    assert graph["root_id"] == parent.id


# -- RFC-0003 -------------------------------------------------------------------------


def test_leases(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    lease = client.acquire_lease(intent.id, "research", 60)
    assert lease.is_active
    with pytest.raises(LeaseConflictError):
        client.acquire_lease(intent.id, "research")
    renewed = client.renew_lease(intent.id, lease.id, 120)
    assert renewed.expires_at >= lease.expires_at
    assert [x.id for x in client.get_leases(intent.id)] == [lease.id]  # a bare array
    client.release_lease(intent.id, lease.id)
    with client.lease(intent.id, "research") as held:
        assert held.scope == "research"
    with pytest.raises(RuntimeError), client.lease(intent.id, "research"):
        raise RuntimeError("body fails")
    again = client.acquire_lease(intent.id, "research")  # released both times
    client.release_lease(intent.id, again.id)


# -- RFC-0004 / RFC-0013 governance -----------------------------------------------------


def test_arbitration_decisions_escalations(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    arbitration = client.request_arbitration(intent.id, "disagreement", {"x": 1})
    assert (arbitration.status, arbitration.intent_id) == ("pending", intent.id)
    decision = client.record_decision(intent.id, "choice", "option-a", "cheaper")
    assert (decision.outcome, decision.reasoning) == ("option-a", "cheaper")
    assert decision.id
    escalation = client.escalate_to_human(intent.id, "stuck", priority="high")
    assert escalation.status == "pending"
    listed = client.list_escalations(intent_id=intent.id)
    assert [e.id for e in listed] == [escalation.id]
    resolved = client.resolve_escalation(escalation.id, "fixed", notes="n")
    assert resolved.resolution == "fixed"
    assert resolved.status == "resolved"


def test_approvals_and_governance_policy(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    approval = client.request_approval(intent.id, "complete", "done?", {"k": 1})
    assert client.get_approval_status(intent.id, approval.id).status == "pending"
    assert client.approve_approval(intent.id, approval.id)["status"] == "approved"
    with pytest.raises(ConflictError):
        client.approve_approval(intent.id, approval.id)
    other = client.request_approval(intent.id, "deploy")
    assert client.deny_approval(intent.id, other.id)["status"] == "denied"
    governed = client.set_governance_policy(intent.id, intent.version, {"max_cost": 10})
    assert governed.version == intent.version + 1
    view = client.get_governance_policy(intent.id)
    assert view["governance_policy"] == {"max_cost": 10}
    client.record_cost(intent.id, "tokens", 8, "tokens")
    with pytest.raises(ForbiddenError) as refused:
        client.record_cost(intent.id, "tokens", 3, "tokens")
    assert refused.value.status_code == 403
    released = client.remove_governance_policy(intent.id, governed.version)
    assert released.governance_policy is None


def test_coordinator_leases_and_decision_records(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    lease = client.create_coordinator_lease("coord-1", intent.id, heartbeat_interval_seconds=30)
    assert client.get_coordinator_lease(lease.id).agent_id == "coord-1"
    assert [x.id for x in client.list_coordinator_leases(intent.id)] == [lease.id]
    assert client.list_coordinator_leases() == []
    assert client.coordinator_heartbeat(lease.id)["status"] == "ok"
    record = client.create_decision_record(
        "coord-1", intent.id, "plan_created", "planned", "it is best", confidence=0.9
    )
    assert record["summary"] == "planned"
    records = client.list_decision_records(intent.id)  # falls back to …/decisions
    assert [r["id"] for r in records] == [record["id"]]
    decisions = client.get_decisions(intent.id)  # the bare list of decision records
    assert [d.id for d in decisions] == [record["id"]]
    assert decisions[0].outcome == "planned"
    assert client.coordinator.get_lease(lease.id).id == lease.id


def test_coordinator_namespace(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    lease = client.coordinator.create_lease("coord-3", intent.id)
    assert [x.id for x in client.coordinator.list_leases(intent.id)] == [lease.id]
    assert client.coordinator.heartbeat(lease.id)["status"] == "ok"
    record = client.coordinator.record_decision("coord-3", intent.id, "plan_created", "s", "r")
    assert [r["id"] for r in client.coordinator.decisions(intent.id)] == [record["id"]]


# -- RFC-0005, 0007, 0008, 0009, 0010, 0011 --------------------------------------------


def test_attachments(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    sync_style = client.add_attachment(intent.id, "r.jpg", "image/jpeg", 10, "https://s/r.jpg")
    async_style = client.add_attachment(intent.id, "s.txt", "text/plain", "https://s/s.txt", 3)
    assert (sync_style.size, async_style.storage_url) == (10, "https://s/s.txt")
    assert {a.id for a in client.get_attachments(intent.id)} == {sync_style.id, async_style.id}
    client.delete_attachment(intent.id, sync_style.id)
    assert [a.id for a in client.get_attachments(intent.id)] == [async_style.id]
    with pytest.raises(NotFoundError):
        client.delete_attachment(intent.id, sync_style.id)


def test_portfolios(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    portfolio = client.create_portfolio("Trip")  # no description: "" is sent
    assert client.get_portfolio(portfolio.id).name == "Trip"
    mine = client.list_portfolios(created_by=client.agent_id)
    assert portfolio.id in {p.id for p in mine}
    membership = client.add_intent_to_portfolio(portfolio.id, intent.id, MembershipRole.PRIMARY, 5)
    assert (membership.portfolio_id, membership.intent_id) == (portfolio.id, intent.id)
    assert membership.id
    intents, aggregate = client.get_portfolio_intents(portfolio.id)
    assert [i.id for i in intents] == [intent.id]
    assert aggregate.total == 1
    assert [p.id for p in client.get_intent_portfolios(intent.id)] == [portfolio.id]
    done = client.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
    assert done.status is PortfolioStatus.COMPLETED
    client.remove_intent_from_portfolio(portfolio.id, intent.id)
    assert client.get_portfolio_intents(portfolio.id)[0] == []


def test_observability_events(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    calls: list[Callable[[], Any]] = [
        lambda: client.log_tool_call_started(intent.id, "search", "t1", {"q": "x"}, "openai"),
        lambda: client.log_tool_call_completed(intent.id, "search", "t1", {}, {"hits": 1}, 5),
        lambda: client.log_tool_call_failed(intent.id, "search", "t2", {}, "boom"),
        lambda: client.log_llm_request_started(intent.id, "r1", "openai", "gpt", 2, ["search"]),
        lambda: client.log_llm_request_completed(intent.id, "r1", "openai", "gpt", 2, "hi"),
        lambda: client.log_llm_request_failed(intent.id, "r2", "openai", "gpt", 1, "E: x"),
        lambda: client.start_stream(intent.id, "s1", "openai", "gpt"),
        lambda: client.log_stream_chunk(intent.id, "s1", 1),
        lambda: client.complete_stream(intent.id, "s1", "openai", "gpt", 3, 12),
        lambda: client.cancel_stream(intent.id, "s2", "openai", "gpt", "stopped"),
    ]
    for call in calls:
        call()
    kinds = {str(e.event_type) for e in client.get_events(intent.id)}
    assert {"tool_call_failed", "llm_request_completed", "stream_cancelled"} <= kinds


def test_costs_retry_and_failures(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    cost = client.record_cost(intent.id, "tokens", 1500, "tokens", "openai", {"model": "x"})
    assert cost.amount == 1500.0
    costs, summary = client.get_costs(intent.id)
    assert [c.id for c in costs] == [cost.id]
    assert summary.total == 1500.0  # summed by the client from the bare array
    assert client.get_retry_policy(intent.id) is None
    policy = client.set_retry_policy(intent.id, RetryStrategy.LINEAR, 5)
    assert (policy.strategy, policy.max_retries) == (RetryStrategy.LINEAR, 5)
    assert client.get_retry_policy(intent.id) is not None
    failure = client.record_failure(intent.id, 1, "TIMEOUT", "took too long")
    async_style = client.record_failure(intent.id, "RATE_LIMIT", "slow down", True)
    assert {f.id for f in client.get_failures(intent.id)} == {failure.id, async_style.id}


def test_access_control(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    acl = client.set_acl(intent.id, AccessPolicy.CLOSED, [{"principal_id": "p1"}])
    assert acl.default_policy is AccessPolicy.CLOSED
    entry = client.grant_access(intent.id, "agent-b", permission=Permission.WRITE, reason="help")
    assert entry.permission is Permission.WRITE
    assert "agent-b" in {e.principal_id for e in client.get_acl(intent.id).entries}
    client.revoke_access(intent.id, entry.id)
    request = client.request_access(intent.id, "agent-z", reason="need", capabilities=["ocr"])
    assert [r.id for r in client.list_access_requests(intent.id)] == [request.id]
    approved = client.approve_access_request(intent.id, request.id, Permission.READ, reason="ok")
    assert approved.status == "approved"
    second = client.request_access(intent.id, "agent-y")
    assert client.deny_access_request(intent.id, second.id, "no").status == "denied"


# -- RFC-0012 .. RFC-0017 --------------------------------------------------------------


def test_tasks_and_plans(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    task = client.create_task(intent.id, "collect", priority="high")
    assert client.get_task(task.id).name == "collect"
    running = client.update_task(task.id, task.version, "running")
    assert running.status == "running"
    assert [t.id for t in client.list_tasks(intent.id)] == [task.id]
    viewed = client.tasks.create(intent.id, "summarize", assigned_to="writer")
    assert viewed.assigned_agent == "writer"
    assert client.tasks.update_status(viewed.id, "completed", result={"ok": 1}).output == {"ok": 1}
    plan = client.create_plan(intent.id, [task.id, viewed.id])
    assert client.get_plan(plan.id).tasks == [task.id, viewed.id]
    assert [p.id for p in client.list_plans(intent.id)] == [plan.id]
    assert client.update_plan(plan.id, plan.version, state="active").state == "active"


def test_tasks_namespace(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    task = client.tasks.create(intent.id, "draft", priority="high")
    assert client.tasks.get(task.id).name == "draft"
    running = client.tasks.update(task.id, task.version, "running")
    assert (running.status, running.version) == ("running", task.version + 1)
    assert client.tasks.complete(task.id, {"n": 1}).output == {"n": 1}
    other = client.tasks.create(intent.id, "doomed")
    assert client.tasks.fail(other.id, "boom").status == "failed"
    assert {t.id for t in client.tasks.list(intent.id)} == {task.id, other.id}
    assert [t.id for t in client.tasks.list(intent.id, status="failed")] == [other.id]


def test_vaults_grants_tools(client: OpenIntentClient) -> None:
    agent = f"agent-{uuid.uuid4().hex[:6]}"
    vault = client.create_vault("owner-1", "prod")
    assert client.get_vault(vault["id"])["name"] == "prod"
    credential = client.create_credential(vault["id"], "github", "gh", scopes_available=["repo"])
    assert client.get_credential(credential["id"])["service"] == "github"
    grant = client.create_tool_grant(credential["id"], agent, "owner-1", ["repo"])
    assert client.get_tool_grant(grant.id).agent_id == agent
    assert [g.id for g in client.list_agent_grants(agent)] == [grant.id]
    record = client.record_invocation(grant.id, "github", "list_repos", agent)
    assert record["tool"] == "list_repos"
    assert [r["tool"] for r in client.list_invocations(grant.id)] == ["list_repos"]
    with pytest.raises(ForbiddenError):  # no grant covers this tool for this agent
        client.invoke_tool("no_such_tool", "agent-nobody", {"q": 1})
    assert client.revoke_grant(grant.id)["status"] == "revoked"
    assert client.tools.grants(agent)[0].status == "revoked"


def test_tools_namespace(client: OpenIntentClient) -> None:
    service = f"svc-{uuid.uuid4().hex[:6]}"  # the server picks the grant by service
    vault = client.tools.create_vault("owner-1", "ns-vault")
    assert client.tools.get_vault(vault["id"])["name"] == "ns-vault"
    credential = client.tools.create_credential(vault["id"], service, "label")
    assert client.tools.get_credential(credential["id"])["service"] == service
    grant = client.tools.grant(credential["id"], client.agent_id, "owner-1")
    assert client.tools.get_grant(grant.id).credential_id == credential["id"]
    assert grant.id in {g.id for g in client.tools.grants(client.agent_id)}
    invoked = client.tools.invoke(service, client.agent_id, {"q": 1})  # placeholder run
    assert (invoked["tool_name"], invoked["status"]) == (service, "success")
    flat = client.invoke_tool(service, client.agent_id, {"q": 2})
    assert (flat["tool_name"], flat["status"]) == (service, "success")
    record = client.tools.record_invocation(grant.id, service, "manual", client.agent_id)
    assert record["tool"] == "manual"
    assert "manual" in {r["tool"] for r in client.tools.invocations(grant.id)}
    assert client.tools.revoke(grant.id)["status"] == "revoked"


def test_memory(client: OpenIntentClient) -> None:
    agent = f"mem-{uuid.uuid4().hex[:6]}"
    entry = client.create_memory(agent, "notes", "k1", {"v": 1}, "episodic", tags=["a"])
    assert client.get_memory(entry.id).value == {"v": 1}
    assert [e.id for e in client.list_memory(agent, namespace="notes")] == [entry.id]
    updated = client.update_memory(entry.id, entry.version, value={"v": 2})
    assert updated.version == entry.version + 1
    client.delete_memory(entry.id)
    with pytest.raises(NotFoundError):
        client.get_memory(entry.id)
    stored = client.memory.store(agent, "fact", "the sky is blue", tags=["sky"])
    again = client.memory.store(agent, "fact", {"text": "still blue"})
    assert again.id == stored.id
    assert [e.key for e in client.memory.recall(agent, tags=["sky"])] == ["fact"]
    assert client.memory.pin(agent, "fact") is not None
    assert client.memory.delete(agent, "fact") == 1


def test_memory_namespace(client: OpenIntentClient) -> None:
    agent = f"mem-{uuid.uuid4().hex[:6]}"
    stored = client.memory.store(agent, "fact", {"text": "the sky is blue"}, namespace="n")
    client.memory.store(agent, "other", {"text": "grass"}, namespace="n")
    assert [e.key for e in client.memory.query(agent, key="fact")] == ["fact"]
    assert [e.key for e in client.memory.query(agent, query="SKY")] == ["fact"]
    assert client.memory.get(stored.id).value == {"text": "the sky is blue"}
    updated = client.memory.update(stored.id, stored.version, value={"text": "grey"})
    assert updated.version == stored.version + 1
    assert {e.key for e in client.memory.list(agent, namespace="n")} == {"fact", "other"}


def test_agent_lifecycle(client: OpenIntentClient) -> None:
    agent = f"agent-{uuid.uuid4().hex[:6]}"
    record = client.register_agent(agent, ["search"], role_id="researcher")
    assert record.agent_id == agent
    assert client.get_agent_record(agent).capabilities == ["search"]
    assert agent in {a.agent_id for a in client.list_agents(role_id="researcher")}
    assert "next_heartbeat_at" in client.agent_heartbeat(agent, 1, ["t1"])
    assert client.update_agent_status(agent, "draining")["status"] == "draining"
    assert client.agents.deregister(agent)["status"] == "deregistered"


def test_agents_namespace(client: OpenIntentClient) -> None:
    agent, role = f"agent-{uuid.uuid4().hex[:6]}", f"role-{uuid.uuid4().hex[:6]}"
    assert client.agents.register(agent, ["x"], role_id=role).agent_id == agent
    assert client.agents.get(agent).capabilities == ["x"]
    assert [a.agent_id for a in client.agents.list(role_id=role)] == [agent]
    assert "next_heartbeat_at" in client.agents.heartbeat(agent, 1, ["t"])
    assert client.agents.update_status(agent, "active")["status"] == "active"
    assert client.agents.drain(agent)["status"] == "draining"
    assert client.agents.get(agent).status == "draining"


def test_triggers(client: OpenIntentClient, server: Any) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    trigger = client.create_trigger(
        "nightly", "schedule", condition={"cron": "0 18 * * *"}, namespace=namespace
    )
    assert client.get_trigger(trigger.trigger_id).name == "nightly"
    assert [t.trigger_id for t in client.list_triggers(namespace=namespace)] == [trigger.trigger_id]
    assert client.triggers.get(trigger.trigger_id).type == "schedule"
    assert client.fire_trigger(trigger.trigger_id)["fire_count"] == 1  # fire keeps the version
    updated = client.update_trigger(trigger.trigger_id, trigger.version, enabled=False)
    assert updated.enabled is False
    if server.name == "reference":  # rfc-0017 quirk 1: manual fire ignores `enabled`
        assert client.fire_trigger(trigger.trigger_id)["fire_count"] == 2
    else:  # rfc-0017: disabled triggers do not fire
        with pytest.raises(ConflictError):
            client.fire_trigger(trigger.trigger_id)
    client.delete_trigger(trigger.trigger_id)
    with pytest.raises(NotFoundError):
        client.get_trigger(trigger.trigger_id)


def test_triggers_namespace(client: OpenIntentClient) -> None:
    namespace = f"ns-{uuid.uuid4().hex[:6]}"
    trigger = client.triggers.create(
        "hourly", "schedule", condition={"cron": "0 * * * *"}, namespace=namespace
    )
    assert [t.trigger_id for t in client.triggers.list(namespace=namespace)] == [trigger.trigger_id]
    assert client.triggers.fire(trigger.trigger_id)["fire_count"] == 1
    condition = {"cron": "30 * * * *"}
    updated = client.triggers.update(trigger.trigger_id, trigger.version, condition=condition)
    assert updated.condition is not None
    assert updated.condition.cron == "30 * * * *"
    assert client.triggers.delete(trigger.trigger_id) is None
    with pytest.raises(NotFoundError):
        client.triggers.get(trigger.trigger_id)


def test_identity_and_verifiable_logs(client: OpenIntentClient, server: Any) -> None:
    agent = f"id-{uuid.uuid4().hex[:6]}"
    challenge = client.register_identity(agent, "pubkey-b64")
    identity = client.complete_identity_challenge(agent, challenge.challenge, "sig")
    assert identity.agent_id == agent
    assert client.get_identity(agent).did == identity.did
    assert client.verify_signature(agent, {"a": 1}, "sig").agent_id == agent
    rotated = client.rotate_key(agent, "new-key", "pubkey-b64", "sig")
    assert rotated.public_key == "new-key"
    intent = new_intent(client)
    event = client.log_event(intent.id, "comment", {})
    assert client.verify_event_chain(intent.id).intent_id == intent.id
    # Checkpoints are made by an admin route the client has no method for.
    made = [
        httpx.post(
            f"{server.base_url}/api/v1/admin/checkpoints",
            json={"intent_id": intent.id},
            headers={"X-API-Key": server.api_key},
        ).json()["checkpoint_id"]
        for _ in range(2)
    ]
    # The reference lists none of them (its listing is a stub); the call must still parse.
    listed = client.list_checkpoints(intent_id=intent.id)
    assert all(c.checkpoint_id for c in listed)
    assert client.get_checkpoint(made[0]).checkpoint_id == made[0]
    assert client.get_merkle_proof(made[0], event.id).event_id == event.id
    assert client.verify_consistency(made[0], made[1]).from_checkpoint == made[0]


def test_channels_and_messages(client: OpenIntentClient, other_client: OpenIntentClient) -> None:
    intent = new_intent(client)
    channel = client.create_channel(intent.id, "coord", ["a", "b"], "explicit")
    assert client.get_channel(channel["id"])["name"] == "coord"
    assert [c["id"] for c in client.list_channels(intent.id)] == [channel["id"]]
    sent = client.send_message(channel["id"], "a", to="b", payload={"hi": 1})
    assert client.get_message(channel["id"], sent["id"])["sender"] == "a"
    client.reply_to(channel["id"], sent["id"], "b", {"hello": 1})
    assert len(client.list_messages(channel["id"])) == 2
    assert client.mark_read(channel["id"], sent["id"])["status"] == "read"

    def answer() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in other_client.list_messages(channel["id"], to="b"):
                if message.get("message_type") == "request" and message["id"] != sent["id"]:
                    other_client.reply_to(channel["id"], message["id"], "b", {"answer": 42})
                    return
            time.sleep(0.1)

    responder = threading.Thread(target=answer, daemon=True)
    responder.start()
    reply = client.ask(channel["id"], "a", "b", {"question": "?"}, timeout=10)
    responder.join(5)
    assert reply["payload"] == {"answer": 42}
    client.close_channel(channel["id"])


def test_federation(client: OpenIntentClient, server: Any) -> None:
    status = client.federation_status()
    assert "enabled" in status
    assert isinstance(client.list_federated_agents(source_server="http://127.0.0.1:9"), list)
    if server.name != "reference":
        return
    calls: dict[str, Callable[[], Any]] = {
        "federation_discover": client.federation_discover,
        "federation_dispatch": lambda: client.federation_dispatch("i", "http://127.0.0.1:9"),
        "federation_receive": lambda: client.federation_receive("d", "http://p", "i", "t"),
        "send_federation_callback": lambda: client.send_federation_callback(
            f"{server.base_url}/api/v1/federation/receive", "d1", "completed"
        ),
    }
    for name, call in calls.items():
        error, reason = FEDERATION_OFF[name]
        with pytest.raises(error):
            call()
        assert reason


# -- RFC-0006 SSE ----------------------------------------------------------------------


def _first_event(
    stream: SSEStream, trigger: Callable[[], Any], wanted: SSEEventType | str
) -> SSEEvent:
    """Read ``stream`` on a thread, calling ``trigger`` until an event named ``wanted`` comes."""
    found: list[SSEEvent] = []
    ready = threading.Event()

    def read() -> None:
        for event in stream:
            if event.type == wanted:
                found.append(event)
                ready.set()
                return

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not ready.wait(0.4) and time.monotonic() < deadline:
        trigger()  # the stream may not be connected yet: keep producing events
    stream.stop()
    thread.join(5)
    assert found, f"no {wanted!r} event arrived"
    return found[0]


def test_sse_intent_portfolio_and_agent_streams(client: OpenIntentClient) -> None:
    intent = new_intent(client)
    state = {"n": 0}

    def patch() -> None:
        state["n"] += 1
        client.patch_state(intent.id, {"n": state["n"]})

    event = _first_event(
        client.subscribe_sse(intent.id, reconnect_delay=0.2), patch, "STATE_CHANGED"
    )
    assert event.type == SSEEventType.STATE_CHANGED
    assert event.data["id"] == intent.id

    portfolio = client.create_portfolio("watched", "d")
    added = _first_event(
        client.subscribe_portfolio(portfolio.id, reconnect_delay=0.2),
        lambda: client.add_intent_to_portfolio(portfolio.id, new_intent(client).id),
        "intent_added",
    )
    assert added.data == {}

    agent = f"sse-{uuid.uuid4().hex[:6]}"
    assigned = _first_event(
        client.subscribe_agent(agent, reconnect_delay=0.2),
        lambda: client.assign_agent(intent.id, agent),
        SSEEventType.AGENT_ASSIGNED,
    )
    assert assigned.agent_id == agent

    queue = client.create_event_queue(intent_id=intent.id, reconnect_delay=0.2)
    with queue:
        deadline = time.monotonic() + 15
        got = None
        while got is None and time.monotonic() < deadline:
            client.log_event(intent.id, "comment", {"via": "queue"})
            got = queue.get(timeout=0.5)
    assert got is not None
    assert got.type == "comment"


# -- the async client ------------------------------------------------------------------


def test_async_client_drives_the_server(async_client: AsyncOpenIntentClient) -> None:
    async def run() -> None:
        async with async_client as client:
            # The async reference signature: description is the 2nd positional, the
            # governance policy the 5th.
            intent = await client.create_intent("async", "d", None, {"a": 1}, {"max_cost": 5})
            assert intent.governance_policy == {"max_cost": 5}
            intent = await client.update_state(intent.id, intent.version, {"b": 2})
            children = await client.get_children(intent.id)  # sync-only in the reference
            assert children == []
            async with client.lease(intent.id, "scope") as lease:
                assert lease.scope == "scope"
            with pytest.raises(LeaseConflictError):
                async with client.lease(intent.id, "held"), client.lease(intent.id, "held"):
                    pass
            await client.acquire_lease(intent.id, "held")  # released by the failed block
            await client.record_cost(intent.id, "tokens", 1.5, "tokens")  # agent_id sent
            await client.record_failure(intent.id, "TIMEOUT", "t/o", True, {"k": 1})
            await client.add_attachment(intent.id, "f", "text/plain", "https://s/f", 1)
            task = await client.tasks.create(intent.id, "t")
            assert (await client.tasks.get(task.id)).id == task.id
            events = []
            stream = client.subscribe_sse(intent.id, reconnect_delay=0.2)

            async def read() -> None:
                async for event in stream:
                    if event.type == SSEEventType.STATE_CHANGED:
                        events.append(event)
                        return

            reader = asyncio.create_task(read())
            for n in range(30):
                if reader.done():
                    break
                await client.patch_state(intent.id, {"n": n})
                await asyncio.sleep(0.3)
            await asyncio.wait_for(reader, 5)
            assert events[0].data["id"] == intent.id

    asyncio.run(run())


# -- gaps and coverage -----------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(UNSERVED))
def test_methods_the_reference_server_cannot_serve(
    client: OpenIntentClient, server: Any, method: str
) -> None:
    if server.name != "reference":
        pytest.skip("only the reference server lacks these routes")
    error, reason = UNSERVED[method]
    intent = new_intent(client)
    calls: dict[str, Callable[[], Any]] = {
        "list_intents": lambda: client.list_intents(IntentStatus.DRAFT),
        "unassign_agent": lambda: client.unassign_agent(intent.id, "x"),
        "subscribe": lambda: client.subscribe(intent.id, webhook_url="https://hook"),
        "get_subscriptions": lambda: client.get_subscriptions(intent.id),
        "unsubscribe": lambda: client.unsubscribe("s1"),
    }
    with pytest.raises(error) as raised:
        calls[method]()
    assert raised.value.status_code in (404, 405), reason


def test_routes_our_server_adds(client: OpenIntentClient, server: Any) -> None:
    """C14: the methods of ``UNSERVED`` work against our server, which serves their routes."""
    if server.name == "reference":
        pytest.skip("the reference server lacks these routes")
    intent = new_intent(client)
    assert intent.id in {i.id for i in client.list_intents(IntentStatus.DRAFT, limit=1000)}
    client.assign_agent(intent.id, "x")
    client.unassign_agent(intent.id, "x")
    assert EventType.AGENT_UNASSIGNED in {e.event_type for e in client.get_events(intent.id)}
    sub = client.subscribe(intent.id, webhook_url="https://hook")
    assert [s.id for s in client.get_subscriptions(intent.id)] == [sub.id]
    client.unsubscribe(sub.id)
    assert client.get_subscriptions(intent.id) == []


def _surface(client: Any) -> set[str]:
    """Public methods of ``client``; a namespace view's as ``"namespace.method"``."""
    names: set[str] = set()
    for name in dir(type(client)):
        if name.startswith("_"):
            continue
        value = getattr(client, name)
        if isinstance(value, Dispatcher):
            views = (m for m in dir(type(value)) if not m.startswith("_"))
            names |= {f"{name}.{m}" for m in views if callable(getattr(value, m))}
        elif callable(value):
            names.add(name)
    return names


def test_every_public_method_was_exercised(
    request: pytest.FixtureRequest,
    used_methods: set[tuple[str, str, str]],
    succeeded_methods: set[tuple[str, str, str]],
) -> None:
    """Against the reference server, through each of our clients, every public method
    succeeded at least once, or is listed in ``UNSERVED`` / ``FEDERATION_OFF`` with its
    reason, was called, and never succeeded (so the lists cannot go stale)."""
    tests = {n for n, f in globals().items() if n.startswith("test_") and callable(f)}
    tests -= {"test_every_public_method_was_exercised", "test_async_client_drives_the_server"}
    selected = {
        (item.callspec.params.get("mode"), getattr(item, "originalname", item.name))
        for item in request.session.items
        if item.path == request.path
        and hasattr(item, "callspec")
        and item.callspec.params.get("server") == "reference"
    }
    if not {(m, t) for m in ("sync", "async") for t in tests} <= selected:
        pytest.skip("needs the whole module against the reference server")
    with OpenIntentClient("http://127.0.0.1:9") as sync_client:
        surface = {"sync": _surface(sync_client)}
    async_client = AsyncOpenIntentClient("http://127.0.0.1:9")
    surface["async"] = _surface(async_client)
    asyncio.run(async_client.close())
    assert surface["sync"] == surface["async"]
    assert len(surface["sync"]) > 190
    listed = set(UNSERVED) | set(FEDERATION_OFF)
    missing, stale = [], []
    for mode, names in surface.items():
        for name in sorted(names - NOT_CALLS):
            key = ("reference", mode, name)
            if name not in listed and key not in succeeded_methods:
                missing.append(f"{mode}: {name}")
            if name in listed and (key not in used_methods or key in succeeded_methods):
                stale.append(f"{mode}: {name}")
    assert not missing, f"never succeeded against the reference server: {missing}"
    assert not stale, f"listed as unserved, but not called or it succeeded: {stale}"
