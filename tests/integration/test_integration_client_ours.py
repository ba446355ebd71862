"""Our client against our server: one test per public client method.

Every test runs twice, through the sync client and through the async client (``api``);
``c`` is the sync client used to set up what the method needs. The server is a real
process on loopback over a fresh database (SQLite, or PostgreSQL when
``OPENINTENT_TEST_PG_URL`` is set).

Methods of RFC-0018..0022 (identity, verifiable logs, messaging, federation) are outside
the server's spec (spec README: those RFCs have no file; discovery does not list them):
their tests check the 404. The sub-API views (``client.tasks`` ...) have one test per
view method (``test_namespace_method``).

The coverage tests at the end check that every public method of both clients and of
every namespace has a test named after it here and was called through ``api`` against
the server in both modes (conftest ``CALLED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from openintent.client import AsyncOpenIntentClient, OpenIntentClient
from openintent.client._endpoint import Dispatcher
from openintent.exceptions import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LeaseConflictError,
    NotFoundError,
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
from openintent.streaming import SSEEvent, SSEEventType

#: Client methods our server does not serve, by spec reason (checked to answer 404).
OUT_OF_SCOPE = {
    "identity": "RFC-0018 agent identity: no spec file, not listed in our discovery",
    "logs": "RFC-0019 verifiable logs: no spec file, not listed in our discovery",
    "channels": "RFC-0021 messaging channels: no spec file, not listed in our discovery",
    "federation": "RFC-0022 federation: no spec file, not listed in our discovery",
}


def not_served(rfc: str, call: Callable[[], Any]) -> None:
    with pytest.raises(NotFoundError) as raised:
        call()
    assert raised.value.status_code == 404, OUT_OF_SCOPE[rfc]


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_intent(c: OpenIntentClient, **kw: Any) -> Intent:
    return c.create_intent(uid("it"), **kw)


# -- discovery and RFC-0001 ------------------------------------------------------------


def test_discover(api: Any) -> None:
    doc = api.discover()
    assert doc["version"]
    assert "/rfc/0001" in doc["rfcUrls"]


def test_get_server_config(api: Any) -> None:
    assert "protocol_version" in api.get_server_config()


def test_create_intent(api: Any, c: OpenIntentClient) -> None:
    intent = api.create_intent(
        "Root", "d", {"deadline": "x"}, {"a": 1}, governance_policy={"max_cost": 5}
    )
    assert (intent.title, intent.description, intent.version) == ("Root", "d", 1)
    assert intent.status is IntentStatus.DRAFT
    assert intent.state.data == {"a": 1}
    assert intent.constraints == {"deadline": "x"}
    assert intent.governance_policy is not None
    assert intent.created_by == "it-agent"  # rfc-0001: body created_by, else the API key
    # The async reference's positional order: the governance policy is the 5th argument.
    governed = api.create_intent("Async style", "d", None, {"b": 2}, {"max_cost": 7})
    assert governed.governance_policy is not None
    assert c.get_governance_policy(governed.id)["governance_policy"] == {"max_cost": 7}
    assert governed.state.data == {"b": 2}


def test_get_intent(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c, initial_state={"k": [1, 2]})
    fetched = api.get_intent(intent.id)
    assert (fetched.id, fetched.state["k"]) == (intent.id, [1, 2])
    with pytest.raises(NotFoundError):
        api.get_intent("no-such-intent")


def test_list_intents(api: Any, c: OpenIntentClient) -> None:
    # C14: the reference answers 405; our server serves the route.
    intent = new_intent(c)
    c.set_status(intent.id, intent.version, "active")
    active = api.list_intents(IntentStatus.ACTIVE, limit=1000)
    assert intent.id in {i.id for i in active}
    assert all(i.status is IntentStatus.ACTIVE for i in active)
    assert len(api.list_intents(limit=1)) == 1


def test_update_state(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c, initial_state={"a": 1})
    patched = api.update_state(intent.id, intent.version, {"b": {"nested": True}})
    assert patched.version == 2
    assert patched.state.data == {"a": 1, "b": {"nested": True}}
    with pytest.raises(ConflictError) as stale:
        api.update_state(intent.id, intent.version, {"c": 3})
    assert stale.value.status_code == 409
    assert stale.value.current_version == 2  # sdk.md 2.1 [FIX]: read from the answer


def test_set_status(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    active = api.set_status(intent.id, intent.version, "active")
    assert active.status is IntentStatus.ACTIVE
    blocked = api.set_status(intent.id, IntentStatus.BLOCKED, active.version, reason="wait")
    assert (blocked.status, blocked.version) == (IntentStatus.BLOCKED, active.version + 1)
    with pytest.raises(ConflictError):
        api.set_status(intent.id, active.version, "active")


def test_log_event(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    event = api.log_event(intent.id, EventType.COMMENT, {"note": "hi"}, trace_id="t1")
    assert (event.event_type, event.intent_id, event.payload) == (
        EventType.COMMENT,
        intent.id,
        {"note": "hi"},
    )
    custom = api.log_event(intent.id, "tool_invocation", {"x": 1})
    assert custom.event_type == "tool_invocation"


def test_get_events(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    c.update_state(intent.id, intent.version, {"a": 1})
    comment = c.log_event(intent.id, "comment", {"n": 1})
    kinds = [e.event_type for e in api.get_events(intent.id)]
    assert {EventType.INTENT_CREATED, EventType.STATE_PATCHED, EventType.COMMENT} <= set(kinds)
    assert [e.id for e in api.get_events(intent.id, event_type="comment")] == [comment.id]
    assert len(api.get_events(intent.id, limit=1)) == 1
    with pytest.raises(ValidationError) as bad:
        api.get_events(intent.id, limit=0)
    assert bad.value.status_code == 422


def test_assign_agent(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    assignment = api.assign_agent(intent.id, "worker-1")
    assert (assignment["agent_id"], assignment["intent_id"]) == ("worker-1", intent.id)
    mine = api.assign_agent(intent.id)  # defaults to the client's agent id
    assert mine["agent_id"] == "it-agent"


def test_unassign_agent(api: Any, c: OpenIntentClient) -> None:
    # C14: the reference answers 404 for every call; our server serves the route.
    intent = new_intent(c)
    c.assign_agent(intent.id, "worker-2")
    assert api.unassign_agent(intent.id, "worker-2") is None
    kinds = [e.event_type for e in c.get_events(intent.id)]
    assert EventType.AGENT_UNASSIGNED in kinds


def test_patch_state(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c, initial_state={"a": 1})
    c.update_state(intent.id, intent.version, {"b": 2})  # the version moved on
    patched = api.patch_state(intent.id, {"c": 3})
    assert patched.state.data == {"a": 1, "b": 2, "c": 3}
    assert patched.version == 3


def test_complete_intent(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    done = api.complete_intent(intent.id, {"result": "ok"})
    assert done.status is IntentStatus.COMPLETED
    assert done.state["result"] == "ok"


def test_errors_map_from_our_server(
    api: Any, c: OpenIntentClient, other_client: OpenIntentClient, new_api: Any
) -> None:
    """sdk.md 2.1 with its [FIX]es, each error from a real answer, in both modes."""
    stranger = new_api("x", api_key="wrong-key")
    with pytest.raises(AuthenticationError) as denied:
        stranger.get_intent("anything")
    assert denied.value.status_code == 401
    with pytest.raises(NotFoundError) as missing:
        api.get_events("no-such-intent")  # nested routes of unknown intents: 404
    assert missing.value.status_code == 404
    assert isinstance(missing.value.response, dict)  # the parsed body
    assert missing.value.message == missing.value.response["detail"]  # detail is read
    intent = new_intent(c)
    c.update_state(intent.id, intent.version, {"a": 1})
    with pytest.raises(ConflictError) as stale:
        api.set_status(intent.id, intent.version, "active")
    assert (stale.value.status_code, stale.value.current_version) == (409, 2)
    assert not isinstance(stale.value, LeaseConflictError)
    held = other_client.acquire_lease(intent.id, "busy")
    with pytest.raises(LeaseConflictError) as conflict:
        api.acquire_lease(intent.id, "busy")
    assert conflict.value.status_code == 409
    assert conflict.value.existing_lease is not None
    assert conflict.value.existing_lease["id"] == held.id
    other_client.release_lease(intent.id, held.id)
    with pytest.raises(ValidationError) as invalid:  # 422 is a ValidationError too
        api.get_events(intent.id, limit=0)
    assert invalid.value.status_code == 422
    assert invalid.value.errors


# -- RFC-0002 graphs ---------------------------------------------------------------------


def _family(c: OpenIntentClient) -> tuple[Intent, Intent, Intent]:
    parent = new_intent(c)
    a = c.create_child_intent(parent.id, "A")
    b = c.create_child_intent(parent.id, "B", depends_on=[a.id])
    return parent, a, b


def test_create_child_intent(api: Any, c: OpenIntentClient) -> None:
    parent = new_intent(c)
    child = api.create_child_intent(parent.id, "child", "d", initial_state={"k": 1})
    assert (child.parent_intent_id, child.state["k"]) == (parent.id, 1)
    with pytest.raises(NotFoundError):
        api.create_child_intent("no-such-intent", "orphan")


def test_get_children(api: Any, c: OpenIntentClient) -> None:
    parent, a, b = _family(c)
    assert {i.id for i in api.get_children(parent.id)} == {a.id, b.id}
    assert api.get_children(a.id) == []


def test_get_descendants(api: Any, c: OpenIntentClient) -> None:
    parent, a, b = _family(c)
    grandchild = c.create_child_intent(a.id, "AA")
    assert {i.id for i in api.get_descendants(parent.id)} == {a.id, b.id, grandchild.id}


def test_get_ancestors(api: Any, c: OpenIntentClient) -> None:
    parent, a, _ = _family(c)
    grandchild = c.create_child_intent(a.id, "AA")
    assert [i.id for i in api.get_ancestors(grandchild.id)] == [a.id, parent.id]  # nearest first


def test_get_dependencies(api: Any, c: OpenIntentClient) -> None:
    _, a, b = _family(c)
    assert [i.id for i in api.get_dependencies(b.id)] == [a.id]


def test_get_dependents(api: Any, c: OpenIntentClient) -> None:
    _, a, b = _family(c)
    assert [i.id for i in api.get_dependents(a.id)] == [b.id]


def test_add_dependency(api: Any, c: OpenIntentClient) -> None:
    a, other = new_intent(c), new_intent(c)
    with_dep = api.add_dependency(a.id, other.id, a.version)
    assert (with_dep.depends_on, with_dep.version) == ([other.id], a.version + 1)
    with pytest.raises(ValidationError):  # already there: 400
        api.add_dependency(a.id, other.id, with_dep.version)
    with pytest.raises(ValidationError):  # a cycle: 400
        api.add_dependency(other.id, a.id, other.version)


def test_remove_dependency(api: Any, c: OpenIntentClient) -> None:
    a, other = new_intent(c), new_intent(c)
    with_dep = c.add_dependency(a.id, other.id, a.version)
    without = api.remove_dependency(a.id, other.id, with_dep.version)
    assert without.depends_on == []
    with pytest.raises(ConflictError):
        api.remove_dependency(a.id, other.id, with_dep.version)


def test_get_ready_intents(api: Any, c: OpenIntentClient) -> None:
    parent, a, b = _family(c)
    ready = {i.id for i in api.get_ready_intents(parent.id)}
    assert a.id in ready
    assert b.id not in ready


def test_get_blocked_intents(api: Any, c: OpenIntentClient) -> None:
    parent, a, b = _family(c)
    blocked = {i.id for i in api.get_blocked_intents(parent.id)}
    assert b.id in blocked
    assert a.id not in blocked


def test_get_intent_graph(api: Any, c: OpenIntentClient) -> None:
    parent, a, b = _family(c)
    graph = api.get_intent_graph(parent.id)
    assert graph["root_id"] == parent.id
    assert {parent.id, a.id, b.id} <= {n["id"] for n in graph["nodes"]}
    assert "aggregate_status" in graph


# -- RFC-0003 leases ---------------------------------------------------------------------


def test_acquire_lease(api: Any, c: OpenIntentClient, other_client: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = api.acquire_lease(intent.id, "research", 60)
    assert (lease.scope, lease.intent_id) == ("research", intent.id)
    assert lease.is_active
    with pytest.raises(LeaseConflictError) as held:
        other_client.acquire_lease(intent.id, "research")
    assert held.value.status_code == 409
    c.release_lease(intent.id, lease.id)


def test_release_lease(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = c.acquire_lease(intent.id, "scope")
    assert api.release_lease(intent.id, lease.id) is None
    again = c.acquire_lease(intent.id, "scope")  # the scope is free again
    c.release_lease(intent.id, again.id)


def test_get_leases(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = c.acquire_lease(intent.id, "scope")
    assert [x.id for x in api.get_leases(intent.id)] == [lease.id]
    c.release_lease(intent.id, lease.id)


def test_renew_lease(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = c.acquire_lease(intent.id, "scope", 30)
    renewed = api.renew_lease(intent.id, lease.id, 600)
    assert renewed.id == lease.id
    assert renewed.expires_at > lease.expires_at
    c.release_lease(intent.id, lease.id)


def test_lease(
    mode: str, api: Any, c: OpenIntentClient, other_client: OpenIntentClient, on_loop: Any
) -> None:
    """``lease()`` holds the scope for the block and releases it on exit, also when the
    body raises; another principal's acquire tells held from released."""
    intent = new_intent(c)

    def active() -> list[str]:
        return [x.id for x in c.get_leases(intent.id) if x.is_active]

    def taken_by_other() -> bool:
        try:
            lease = other_client.acquire_lease(intent.id, "cm")
        except LeaseConflictError:
            return True
        other_client.release_lease(intent.id, lease.id)
        return False

    seen: list[tuple[str, list[str], bool]] = []
    if mode == "sync":
        with api.lease(intent.id, "cm") as held:
            seen.append((held.id, active(), taken_by_other()))
        assert (active(), taken_by_other()) == ([], False)

        def failing_body() -> None:
            with api.lease(intent.id, "cm") as held:
                seen.append((held.id, active(), taken_by_other()))
                raise RuntimeError("the body fails")

        with pytest.raises(RuntimeError, match="the body fails"):
            failing_body()
    else:
        first, second = api.lease(intent.id, "cm"), api.lease(intent.id, "cm")

        async def look(lease_id: str) -> tuple[str, list[str], bool]:
            ids, taken = await asyncio.to_thread(lambda: (active(), taken_by_other()))
            return lease_id, ids, taken

        async def failing_body() -> None:
            async with second as held:
                seen.append(await look(held.id))
                raise RuntimeError("the body fails")

        async def run() -> None:
            async with first as held:
                seen.append(await look(held.id))
            assert (await look(""))[1:] == ([], False)
            with pytest.raises(RuntimeError, match="the body fails"):
                await failing_body()

        on_loop(run())
    assert [(ids, taken) for lease_id, ids, taken in seen] == [
        ([seen[0][0]], True),
        ([seen[1][0]], True),
    ]
    assert (active(), taken_by_other()) == ([], False)  # released after the failing body


# -- RFC-0004 governance -------------------------------------------------------------------


def test_request_arbitration(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    arbitration = api.request_arbitration(intent.id, "disagreement", {"x": 1})
    assert (arbitration.status, arbitration.intent_id) == ("pending", intent.id)


def test_record_decision(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    decision = api.record_decision(intent.id, "choice", "option-a", "cheaper")
    assert (decision.outcome, decision.reasoning) == ("option-a", "cheaper")
    assert decision.id


def test_get_decisions(api: Any, c: OpenIntentClient) -> None:
    # rfc-0004 #3: lists RFC-0013 decision records, not the decisions of POST .../decisions.
    intent = new_intent(c)
    c.record_decision(intent.id, "choice", "option-a", "cheaper")
    assert api.get_decisions(intent.id) == []
    assert api.get_decisions("no-such-intent") == []  # unknown intent: []


def test_get_decisions_lists_decision_records(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    record = c.create_decision_record("coord-1", intent.id, "plan_created", "planned", "best")
    decisions = api.get_decisions(intent.id)
    assert [d.id for d in decisions] == [record["id"]]
    assert decisions[0].outcome == "planned"


def test_escalate_to_human(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    escalation = api.escalate_to_human(intent.id, "stuck", priority="high", context={"k": 1})
    assert (escalation.status, escalation.intent_id) == ("pending", intent.id)


def test_list_escalations(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    escalation = c.escalate_to_human(intent.id, "stuck")
    assert [e.id for e in api.list_escalations(intent_id=intent.id)] == [escalation.id]
    assert api.list_escalations(intent_id=intent.id, status="resolved") == []


def test_resolve_escalation(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    escalation = c.escalate_to_human(intent.id, "stuck")
    resolved = api.resolve_escalation(escalation.id, "fixed", notes="n")
    assert (resolved.status, resolved.resolution) == ("resolved", "fixed")


def test_request_approval(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    approval = api.request_approval(intent.id, "complete", "done?", {"k": 1})
    assert (approval.status, approval.intent_id) == ("pending", intent.id)


def test_get_approval_status(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    approval = c.request_approval(intent.id, "complete")
    assert api.get_approval_status(intent.id, approval.id).status == "pending"
    with pytest.raises(NotFoundError):
        api.get_approval_status(intent.id, "no-such-approval")


def test_approve_approval(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    approval = c.request_approval(intent.id, "complete")
    assert api.approve_approval(intent.id, approval.id)["status"] == "approved"
    with pytest.raises(ConflictError):  # decided already
        api.approve_approval(intent.id, approval.id)


def test_deny_approval(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    approval = c.request_approval(intent.id, "deploy")
    assert api.deny_approval(intent.id, approval.id)["status"] == "denied"


def test_set_governance_policy(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    governed = api.set_governance_policy(intent.id, intent.version, {"max_cost": 10})
    assert governed.version == intent.version + 1
    c.record_cost(intent.id, "tokens", 8, "tokens")
    with pytest.raises(ForbiddenError) as refused:  # over max_cost
        c.record_cost(intent.id, "tokens", 3, "tokens")
    assert refused.value.status_code == 403


def test_get_governance_policy(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    c.set_governance_policy(intent.id, intent.version, {"max_cost": 10})
    view = api.get_governance_policy(intent.id)
    assert view["governance_policy"] == {"max_cost": 10}
    assert view["effective_policy"]["completion_mode"] == "auto"


def test_remove_governance_policy(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    governed = c.set_governance_policy(intent.id, intent.version, {"max_cost": 10})
    released = api.remove_governance_policy(intent.id, governed.version)
    assert released.governance_policy is None


# -- RFC-0005 attachments ------------------------------------------------------------------


def test_add_attachment(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    sync_style = api.add_attachment(intent.id, "r.jpg", "image/jpeg", 10, "https://s/r.jpg")
    async_style = api.add_attachment(intent.id, "s.txt", "text/plain", "https://s/s.txt", 3)
    assert (sync_style.size, sync_style.storage_url) == (10, "https://s/r.jpg")
    assert (async_style.size, async_style.storage_url) == (3, "https://s/s.txt")


def test_get_attachments(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    assert api.get_attachments(intent.id) == []
    added = c.add_attachment(intent.id, "f", "text/plain", 1, "https://s/f")
    assert [a.id for a in api.get_attachments(intent.id)] == [added.id]


def test_delete_attachment(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    added = c.add_attachment(intent.id, "f", "text/plain", 1, "https://s/f")
    assert api.delete_attachment(intent.id, added.id) is None
    assert c.get_attachments(intent.id) == []
    with pytest.raises(NotFoundError):
        api.delete_attachment(intent.id, added.id)


# -- RFC-0006 webhook subscriptions (C14: the reference serves none of these) ------------------


def test_subscribe(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    sub = api.subscribe(intent.id, event_types=["state_patched"], webhook_url="https://hook/x")
    assert (sub.intent_id, sub.webhook_url) == (intent.id, "https://hook/x")
    assert sub.id
    # The async reference's positional order: webhook_url, event_types, intent_id, ...
    other = api.subscribe("https://hook/a", ["status_changed"], intent.id)
    assert (other.intent_id, other.webhook_url, other.event_types) == (
        intent.id,
        "https://hook/a",
        ["status_changed"],
    )
    assert other.expires_at is not None  # expires_in_hours defaults to 24
    stored = {s.id: s for s in c.get_subscriptions(intent_id=intent.id)}
    assert stored[other.id].event_types == ["status_changed"]


def test_get_subscriptions(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    sub = c.subscribe(intent.id, webhook_url="https://hook/y")
    assert [s.id for s in api.get_subscriptions(intent_id=intent.id)] == [sub.id]


def test_unsubscribe(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    sub = c.subscribe(intent.id, webhook_url="https://hook/z")
    assert api.unsubscribe(sub.id) is None
    assert c.get_subscriptions(intent_id=intent.id) == []


# -- RFC-0007 portfolios -------------------------------------------------------------------


def test_create_portfolio(api: Any) -> None:
    portfolio = api.create_portfolio("Trip")  # no description: "" is sent
    assert (portfolio.name, portfolio.status) == ("Trip", PortfolioStatus.ACTIVE)
    described = api.create_portfolio("Trip 2", "d", {"max_cost": 1}, {"k": "v"})
    assert (described.description, described.metadata) == ("d", {"k": "v"})


def test_get_portfolio(api: Any, c: OpenIntentClient) -> None:
    portfolio = c.create_portfolio("P")
    assert api.get_portfolio(portfolio.id).name == "P"
    with pytest.raises(NotFoundError):
        api.get_portfolio("no-such-portfolio")


def test_list_portfolios(api: Any, c: OpenIntentClient) -> None:
    portfolio = c.create_portfolio(uid("P"))
    assert portfolio.id in {p.id for p in api.list_portfolios()}
    mine = api.list_portfolios(created_by=portfolio.created_by)
    assert portfolio.id in {p.id for p in mine}


def test_update_portfolio_status(api: Any, c: OpenIntentClient) -> None:
    portfolio = c.create_portfolio("P")
    done = api.update_portfolio_status(portfolio.id, PortfolioStatus.COMPLETED)
    assert done.status is PortfolioStatus.COMPLETED


def test_add_intent_to_portfolio(api: Any, c: OpenIntentClient) -> None:
    portfolio, intent = c.create_portfolio("P"), new_intent(c)
    membership = api.add_intent_to_portfolio(portfolio.id, intent.id, MembershipRole.PRIMARY, 5)
    assert (membership.portfolio_id, membership.intent_id) == (portfolio.id, intent.id)
    assert (membership.role, membership.priority) == (MembershipRole.PRIMARY, 5)


def test_remove_intent_from_portfolio(api: Any, c: OpenIntentClient) -> None:
    portfolio, intent = c.create_portfolio("P"), new_intent(c)
    c.add_intent_to_portfolio(portfolio.id, intent.id)
    assert api.remove_intent_from_portfolio(portfolio.id, intent.id) is None
    assert c.get_portfolio_intents(portfolio.id)[0] == []


def test_get_portfolio_intents(api: Any, c: OpenIntentClient) -> None:
    portfolio, intent = c.create_portfolio("P"), new_intent(c)
    c.add_intent_to_portfolio(portfolio.id, intent.id)
    intents, aggregate = api.get_portfolio_intents(portfolio.id)
    assert [i.id for i in intents] == [intent.id]
    assert aggregate.total == 1


def test_get_intent_portfolios(api: Any, c: OpenIntentClient) -> None:
    portfolio, intent = c.create_portfolio("P"), new_intent(c)
    c.add_intent_to_portfolio(portfolio.id, intent.id)
    assert [p.id for p in api.get_intent_portfolios(intent.id)] == [portfolio.id]


# -- RFC-0008 observability (events on the intent) ---------------------------------------------


OBSERVABILITY: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "log_tool_call_started": (
        "tool_call_started",
        lambda a, i: a.log_tool_call_started(i, "search", "t1", {"q": "x"}, "openai"),
    ),
    "log_tool_call_completed": (
        "tool_call_completed",
        lambda a, i: a.log_tool_call_completed(i, "search", "t1", {}, {"hits": 1}, 5),
    ),
    "log_tool_call_failed": (
        "tool_call_failed",
        lambda a, i: a.log_tool_call_failed(i, "search", "t2", {}, "boom"),
    ),
    "log_llm_request_started": (
        "llm_request_started",
        lambda a, i: a.log_llm_request_started(i, "r1", "openai", "gpt", 2, ["search"]),
    ),
    "log_llm_request_completed": (
        "llm_request_completed",
        lambda a, i: a.log_llm_request_completed(i, "r1", "openai", "gpt", 2, "hi"),
    ),
    "log_llm_request_failed": (
        "llm_request_failed",
        lambda a, i: a.log_llm_request_failed(i, "r2", "openai", "gpt", 1, "E: x"),
    ),
    "start_stream": ("stream_started", lambda a, i: a.start_stream(i, "s1", "openai", "gpt")),
    "log_stream_chunk": ("stream_chunk", lambda a, i: a.log_stream_chunk(i, "s1", 1)),
    "complete_stream": (
        "stream_completed",
        lambda a, i: a.complete_stream(i, "s1", "openai", "gpt", 3, 12),
    ),
    "cancel_stream": (
        "stream_cancelled",
        lambda a, i: a.cancel_stream(i, "s2", "openai", "gpt", "stopped"),
    ),
}


def _observability(api: Any, c: OpenIntentClient, method: str) -> None:
    intent = new_intent(c)
    kind, call = OBSERVABILITY[method]
    event = call(api, intent.id)
    assert (str(event.event_type), event.intent_id) == (kind, intent.id)
    stored = c.get_events(intent.id, event_type=kind)
    assert [e.id for e in stored] == [event.id]
    assert stored[0].payload == event.payload


def test_log_tool_call_started(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_tool_call_started")


def test_log_tool_call_completed(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_tool_call_completed")


def test_log_tool_call_failed(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_tool_call_failed")


def test_log_llm_request_started(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_llm_request_started")


def test_log_llm_request_completed(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_llm_request_completed")


def test_log_llm_request_failed(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_llm_request_failed")


def test_start_stream(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "start_stream")


def test_log_stream_chunk(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "log_stream_chunk")


def test_complete_stream(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "complete_stream")


def test_cancel_stream(api: Any, c: OpenIntentClient) -> None:
    _observability(api, c, "cancel_stream")


# -- RFC-0009 costs, RFC-0010 retry --------------------------------------------------------------


def test_record_cost(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    cost = api.record_cost(intent.id, "tokens", 1500, "tokens", "openai", {"model": "x"})
    assert (cost.amount, cost.intent_id, cost.provider) == (1500.0, intent.id, "openai")


def test_get_costs(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    first = c.record_cost(intent.id, "tokens", 100, "tokens")
    second = c.record_cost(intent.id, "api_call", 2, "calls")
    costs, summary = api.get_costs(intent.id)
    assert {x.id for x in costs} == {first.id, second.id}
    assert summary.total == 102.0


def test_set_retry_policy(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    policy = api.set_retry_policy(intent.id, RetryStrategy.LINEAR, 5, base_delay_ms=10)
    assert (policy.strategy, policy.max_retries, policy.base_delay_ms) == (
        RetryStrategy.LINEAR,
        5,
        10,
    )


def test_get_retry_policy(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    assert api.get_retry_policy(intent.id) is None  # 404 reads as "no policy"
    c.set_retry_policy(intent.id, RetryStrategy.FIXED, 2)
    policy = api.get_retry_policy(intent.id)
    assert policy is not None
    assert policy.strategy is RetryStrategy.FIXED


def test_record_failure(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    sync_style = api.record_failure(intent.id, 1, "TIMEOUT", "took too long")
    async_style = api.record_failure(intent.id, "RATE_LIMIT", "slow down", True)
    assert sync_style.attempt_number == 1
    assert async_style.id != sync_style.id


def test_get_failures(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    failure = c.record_failure(intent.id, 1, "TIMEOUT", "t/o")
    assert [f.id for f in api.get_failures(intent.id)] == [failure.id]


# -- RFC-0011 access control -----------------------------------------------------------------


def test_get_acl(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    acl = api.get_acl(intent.id)
    assert acl.intent_id == intent.id
    assert acl.default_policy is AccessPolicy.OPEN


def test_set_acl(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    acl = api.set_acl(intent.id, AccessPolicy.CLOSED, [{"principal_id": "p1"}])
    assert acl.default_policy is AccessPolicy.CLOSED
    assert "p1" in {e.principal_id for e in acl.entries}


def test_grant_access(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    entry = api.grant_access(intent.id, "agent-b", permission=Permission.WRITE, reason="help")
    assert (entry.principal_id, entry.permission) == ("agent-b", Permission.WRITE)
    assert entry.id in {e.id for e in c.get_acl(intent.id).entries}


def test_revoke_access(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    entry = c.grant_access(intent.id, "agent-b")
    assert api.revoke_access(intent.id, entry.id) is None
    assert entry.id not in {e.id for e in c.get_acl(intent.id).entries}


def test_request_access(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    request = api.request_access(intent.id, "agent-z", reason="need", capabilities=["ocr"])
    assert (request.status, request.principal_id) == ("pending", "agent-z")


def test_list_access_requests(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    request = c.request_access(intent.id, "agent-z")
    assert [r.id for r in api.list_access_requests(intent.id)] == [request.id]


def test_approve_access_request(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    request = c.request_access(intent.id, "agent-z")
    approved = api.approve_access_request(intent.id, request.id, Permission.READ, reason="ok")
    assert approved.status == "approved"
    assert "agent-z" in {e.principal_id for e in c.get_acl(intent.id).entries}


def test_deny_access_request(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    request = c.request_access(intent.id, "agent-y")
    assert api.deny_access_request(intent.id, request.id, "no").status == "denied"


# -- RFC-0006 SSE streams ----------------------------------------------------------------------


def _first_event(
    mode: str, loop: Any, stream: Any, trigger: Callable[[], Any], wanted: str
) -> SSEEvent:
    """Read ``stream`` until an event named ``wanted``; ``trigger`` runs until it comes."""
    found: list[SSEEvent] = []
    ready = threading.Event()
    if mode == "sync":

        def read() -> None:
            for event in stream:
                if event.type == wanted:
                    found.append(event)
                    ready.set()
                    return

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        done: Callable[[], Any] = lambda: thread.join(5)  # noqa: E731
    else:

        async def aread() -> None:
            async with contextlib.aclosing(stream.__aiter__()) as events:
                async for event in events:
                    if event.type == wanted:
                        found.append(event)
                        ready.set()
                        return

        future = loop.submit(aread())
        done = lambda: future.result(5)  # noqa: E731
    deadline = time.monotonic() + 20
    while not ready.wait(0.3) and time.monotonic() < deadline:
        trigger()  # the stream may not be connected yet: keep producing events
    if mode == "sync":
        stream.stop()
        done()
    elif found:
        done()
    else:
        future.cancel()  # stop() would only take effect at the next ping
    assert found, f"no {wanted!r} event arrived"
    return found[0]


def test_subscribe_sse(mode: str, api: Any, c: OpenIntentClient, loop_thread: Any) -> None:
    intent = new_intent(c)
    counter = iter(range(1000))
    event = _first_event(
        mode,
        loop_thread,
        api.subscribe_sse(intent.id, reconnect_delay=0.2),
        lambda: c.patch_state(intent.id, {"n": next(counter)}),
        SSEEventType.STATE_CHANGED,
    )
    assert event.data["id"] == intent.id
    assert event.id is not None  # our server numbers every message (Last-Event-ID)


def test_subscribe_portfolio(mode: str, api: Any, c: OpenIntentClient, loop_thread: Any) -> None:
    portfolio = c.create_portfolio("watched")
    event = _first_event(
        mode,
        loop_thread,
        api.subscribe_portfolio(portfolio.id, reconnect_delay=0.2),
        lambda: c.add_intent_to_portfolio(portfolio.id, new_intent(c).id),
        "intent_added",
    )
    assert event.type == "intent_added"


def test_subscribe_agent(mode: str, api: Any, c: OpenIntentClient, loop_thread: Any) -> None:
    intent, agent = new_intent(c), uid("sse")
    event = _first_event(
        mode,
        loop_thread,
        api.subscribe_agent(agent, reconnect_delay=0.2),
        lambda: c.assign_agent(intent.id, agent),
        SSEEventType.AGENT_ASSIGNED,
    )
    assert (event.agent_id, event.intent_id) == (agent, intent.id)


def test_create_event_queue(mode: str, api: Any, c: OpenIntentClient, on_loop: Any) -> None:
    intent = new_intent(c)
    if mode == "sync":
        with api.create_event_queue(intent_id=intent.id, reconnect_delay=0.2) as queue:
            got = None
            deadline = time.monotonic() + 20
            while got is None and time.monotonic() < deadline:
                c.log_event(intent.id, "comment", {"via": "queue"})
                got = queue.get(timeout=0.5)
    else:
        queue = api.create_event_queue(intent_id=intent.id, reconnect_delay=0.2)

        async def run() -> SSEEvent | None:
            async with queue as q:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    await asyncio.to_thread(c.log_event, intent.id, "comment", {"via": "queue"})
                    if (event := await q.get(timeout=0.5)) is not None:
                        return event
            return None

        got = on_loop(run())
    assert got is not None
    assert (got.type, got.data["payload"]) == ("comment", {"via": "queue"})


# -- RFC-0012 tasks and plans --------------------------------------------------------------------


def test_create_task(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = api.create_task(intent.id, "collect", priority="high")
    assert (task.intent_id, task.name, task.version) == (intent.id, "collect", 1)


def test_get_task(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = c.create_task(intent.id, "collect")
    assert api.get_task(task.id).name == "collect"


def test_list_tasks(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = c.create_task(intent.id, "collect")
    assert [t.id for t in api.list_tasks(intent.id)] == [task.id]


def test_update_task(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = c.create_task(intent.id, "collect")
    running = api.update_task(task.id, task.version, "running")
    assert (running.status, running.version) == ("running", task.version + 1)
    with pytest.raises(ConflictError):
        api.update_task(task.id, task.version, "completed")


def test_create_plan(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = c.create_task(intent.id, "collect")
    plan = api.create_plan(intent.id, [task.id])
    assert (plan.intent_id, plan.tasks) == (intent.id, [task.id])


def test_get_plan(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    plan = c.create_plan(intent.id, [c.create_task(intent.id, "t").id])
    assert api.get_plan(plan.id).id == plan.id


def test_list_plans(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    plan = c.create_plan(intent.id, [c.create_task(intent.id, "t").id])
    assert [p.id for p in api.list_plans(intent.id)] == [plan.id]


def test_update_plan(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    plan = c.create_plan(intent.id, [c.create_task(intent.id, "t").id])
    assert api.update_plan(plan.id, plan.version, state="active").state == "active"


# -- RFC-0013 coordinator leases and decision records -------------------------------------------


def test_create_coordinator_lease(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = api.create_coordinator_lease("coord-1", intent.id, heartbeat_interval_seconds=30)
    assert (lease.agent_id, lease.intent_id) == ("coord-1", intent.id)


def test_get_coordinator_lease(api: Any, c: OpenIntentClient) -> None:
    lease = c.create_coordinator_lease("coord-1", new_intent(c).id)
    assert api.get_coordinator_lease(lease.id).agent_id == "coord-1"


def test_list_coordinator_leases(api: Any, c: OpenIntentClient) -> None:
    assert api.list_coordinator_leases() == []  # no intent: no request at all
    intent = new_intent(c)
    lease = c.create_coordinator_lease("coord-1", intent.id)
    assert [x.id for x in api.list_coordinator_leases(intent.id)] == [lease.id]


def test_coordinator_heartbeat(api: Any, c: OpenIntentClient) -> None:
    lease = c.create_coordinator_lease("coord-1", new_intent(c).id)
    assert api.coordinator_heartbeat(lease.id)["status"] == "ok"


def test_create_decision_record(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    record = api.create_decision_record(
        "coord-1", intent.id, "plan_created", "planned", "it is best", confidence=0.9
    )
    assert (record["summary"], record["intent_id"]) == ("planned", intent.id)


def test_list_decision_records(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    record = c.create_decision_record("coord-1", intent.id, "plan_created", "planned", "best")
    assert [r["id"] for r in api.list_decision_records(intent.id)] == [record["id"]]


# -- RFC-0014 vaults, grants, tools -------------------------------------------------------------


def _grant(c: OpenIntentClient, agent: str) -> Any:
    vault = c.create_vault("owner-1", uid("vault"))
    credential = c.create_credential(vault["id"], "github", "gh", scopes_available=["repo"])
    return c.create_tool_grant(credential["id"], agent, "owner-1", ["repo"])


def test_create_vault(api: Any) -> None:
    vault = api.create_vault("owner-1", "prod")
    assert (vault["owner_id"], vault["name"]) == ("owner-1", "prod")


def test_get_vault(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    assert api.get_vault(vault["id"])["name"] == "prod"


def test_create_credential(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = api.create_credential(vault["id"], "github", "gh", secret="s3cr3t")
    assert credential["service"] == "github"
    assert "s3cr3t" not in str(credential)  # never returned


def test_get_credential(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = c.create_credential(vault["id"], "github", "gh")
    assert api.get_credential(credential["id"])["label"] == "gh"


def test_create_tool_grant(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = c.create_credential(vault["id"], "github", "gh", scopes_available=["repo"])
    grant = api.create_tool_grant(credential["id"], "agent-g", "owner-1", ["repo"])
    assert (grant.agent_id, grant.scopes) == ("agent-g", ["repo"])


def test_get_tool_grant(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    assert api.get_tool_grant(grant.id).agent_id == "agent-g"


def test_list_agent_grants(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    grant = _grant(c, agent)
    assert [g.id for g in api.list_agent_grants(agent)] == [grant.id]


def test_revoke_grant(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, uid("agent"))
    assert api.revoke_grant(grant.id)["status"] == "revoked"


def test_record_invocation(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    record = api.record_invocation(grant.id, "github", "list_repos", "agent-g")
    assert record["tool"] == "list_repos"


def test_list_invocations(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    c.record_invocation(grant.id, "github", "list_repos", "agent-g")
    assert [r["tool"] for r in api.list_invocations(grant.id)] == ["list_repos"]


def test_invoke_tool(api: Any, c: OpenIntentClient) -> None:
    service = uid("svc")  # the server picks the caller's grant whose service is the tool
    vault = c.create_vault("owner-1", uid("vault"))
    credential = c.create_credential(vault["id"], service, "label")  # no base_url: placeholder
    grant = c.create_tool_grant(credential["id"], "it-agent", "owner-1")
    result = api.invoke_tool(service, "it-agent", {"q": 1})
    assert (result["tool_name"], result["status"]) == (service, "success")
    assert [r["tool"] for r in c.list_invocations(grant.id)] == [service]
    with pytest.raises(ForbiddenError):  # no grant covers this tool for this agent
        api.invoke_tool("no_such_tool", uid("nobody"), {"q": 1})


# -- RFC-0015 memory ---------------------------------------------------------------------------


def test_create_memory(api: Any) -> None:
    entry = api.create_memory(uid("mem"), "notes", "k1", {"v": 1}, "episodic", tags=["a"])
    assert (entry.key, entry.value, entry.version) == ("k1", {"v": 1}, 1)


def test_get_memory(api: Any, c: OpenIntentClient) -> None:
    entry = c.create_memory(uid("mem"), "notes", "k1", {"v": 1})
    assert api.get_memory(entry.id).value == {"v": 1}


def test_list_memory(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    entry = c.create_memory(agent, "notes", "k1", {"v": 1}, tags=["a"])
    c.create_memory(agent, "other", "k2", {"v": 2})
    assert [e.id for e in api.list_memory(agent, namespace="notes")] == [entry.id]
    assert [e.id for e in api.list_memory(agent, tags=["a"])] == [entry.id]


def test_update_memory(api: Any, c: OpenIntentClient) -> None:
    entry = c.create_memory(uid("mem"), "notes", "k1", {"v": 1})
    updated = api.update_memory(entry.id, entry.version, value={"v": 2})
    assert (updated.value, updated.version) == ({"v": 2}, entry.version + 1)
    with pytest.raises(ConflictError):
        api.update_memory(entry.id, entry.version, value={"v": 3})


def test_delete_memory(api: Any, c: OpenIntentClient) -> None:
    entry = c.create_memory(uid("mem"), "notes", "k1", {"v": 1})
    assert api.delete_memory(entry.id) is None
    with pytest.raises(NotFoundError):
        c.get_memory(entry.id)


# -- RFC-0016 agent lifecycle ---------------------------------------------------------------------


def test_register_agent(api: Any) -> None:
    agent = uid("agent")
    record = api.register_agent(agent, ["search"], role_id="researcher")
    assert (record.agent_id, record.capabilities) == (agent, ["search"])


def test_get_agent_record(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent, ["search"])
    assert api.get_agent_record(agent).capabilities == ["search"]


def test_list_agents(api: Any, c: OpenIntentClient) -> None:
    agent, role = uid("agent"), uid("role")
    c.register_agent(agent, role_id=role)
    assert [a.agent_id for a in api.list_agents(role_id=role)] == [agent]


def test_agent_heartbeat(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert "next_heartbeat_at" in api.agent_heartbeat(agent, 1, ["t1"])


def test_update_agent_status(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert api.update_agent_status(agent, "draining")["status"] == "draining"


# -- RFC-0017 triggers ----------------------------------------------------------------------------


def _trigger(c: OpenIntentClient, namespace: str | None = None) -> Any:
    return c.create_trigger(
        "nightly", "schedule", condition={"cron": "0 18 * * *"}, namespace=namespace or uid("ns")
    )


def test_create_trigger(api: Any) -> None:
    trigger = api.create_trigger("nightly", "schedule", condition={"cron": "0 18 * * *"})
    assert (trigger.name, trigger.type, trigger.version) == ("nightly", "schedule", 1)


def test_get_trigger(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.get_trigger(trigger.trigger_id).name == "nightly"


def test_list_triggers(api: Any, c: OpenIntentClient) -> None:
    namespace = uid("ns")
    trigger = _trigger(c, namespace)
    assert [t.trigger_id for t in api.list_triggers(namespace=namespace)] == [trigger.trigger_id]


def test_update_trigger(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    updated = api.update_trigger(trigger.trigger_id, trigger.version, enabled=False)
    assert (updated.enabled, updated.version) == (False, trigger.version + 1)


def test_fire_trigger(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.fire_trigger(trigger.trigger_id)["fire_count"] == 1


def test_delete_trigger(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.delete_trigger(trigger.trigger_id) is None
    with pytest.raises(NotFoundError):
        c.get_trigger(trigger.trigger_id)


# -- sub-API views: one case per view method ------------------------------------------------------

NamespaceCase = Callable[[Any, OpenIntentClient], None]
#: ``"namespace.method"`` -> its test, run by ``test_namespace_method`` in both modes.
NAMESPACE_CASES: dict[str, NamespaceCase] = {}


def case(name: str) -> Callable[[NamespaceCase], NamespaceCase]:
    def register(fn: NamespaceCase) -> NamespaceCase:
        NAMESPACE_CASES[name] = fn
        return fn

    return register


def _task(c: OpenIntentClient) -> Any:
    return c.create_task(new_intent(c).id, uid("task"))


@case("tasks.create")
def _tasks_create(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    task = api.tasks.create(intent.id, "summarize", assigned_to="writer", priority="high")
    assert (task.intent_id, task.name, task.assigned_agent) == (intent.id, "summarize", "writer")
    assert c.get_task(task.id).assigned_agent == "writer"


@case("tasks.get")
def _tasks_get(api: Any, c: OpenIntentClient) -> None:
    task = _task(c)
    assert (api.tasks.get(task.id).id, api.tasks.get(task.id).name) == (task.id, task.name)


@case("tasks.update")
def _tasks_update(api: Any, c: OpenIntentClient) -> None:
    task = _task(c)
    running = api.tasks.update(task.id, task.version, "running")
    assert (running.status, running.version) == ("running", task.version + 1)
    with pytest.raises(ConflictError):
        api.tasks.update(task.id, task.version, "completed")


@case("tasks.update_status")
def _tasks_update_status(api: Any, c: OpenIntentClient) -> None:
    task = _task(c)
    done = api.tasks.update_status(task.id, "completed", result={"ok": 1})
    assert (done.status, done.output) == ("completed", {"ok": 1})
    assert c.get_task(task.id).output == {"ok": 1}


@case("tasks.complete")
def _tasks_complete(api: Any, c: OpenIntentClient) -> None:
    task = _task(c)
    done = api.tasks.complete(task.id, {"answer": 42})
    assert (done.status, done.output) == ("completed", {"answer": 42})


@case("tasks.fail")
def _tasks_fail(api: Any, c: OpenIntentClient) -> None:
    task = _task(c)
    failed = api.tasks.fail(task.id, "boom")
    assert failed.status == "failed"
    assert "boom" in str(c.get_task(task.id).error)


@case("tasks.list")
def _tasks_list(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    first, second = c.create_task(intent.id, "a"), c.create_task(intent.id, "b")
    c.update_task(second.id, second.version, "running")
    assert {t.id for t in api.tasks.list(intent.id)} == {first.id, second.id}
    assert [t.id for t in api.tasks.list(intent.id, status="running")] == [second.id]


@case("memory.store")
def _memory_store(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    stored = api.memory.store(agent, "fact", "the sky is blue", tags=["sky"])
    again = api.memory.store(agent, "fact", {"text": "still blue"})
    assert again.id == stored.id  # an upsert by key
    assert (again.value, again.version) == ({"text": "still blue"}, stored.version + 1)
    assert [e.id for e in c.list_memory(agent)] == [stored.id]


@case("memory.recall")
def _memory_recall(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    c.memory.store(agent, "fact", "blue", tags=["sky"])
    c.memory.store(agent, "other", "green", tags=["grass"])
    assert [e.key for e in api.memory.recall(agent, tags=["sky"])] == ["fact"]


@case("memory.query")
def _memory_query(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    c.memory.store(agent, "fact", {"text": "the sky is blue"})
    c.memory.store(agent, "other", {"text": "grass is green"})
    assert [e.key for e in api.memory.query(agent, key="other")] == ["other"]
    assert [e.key for e in api.memory.query(agent, query="SKY")] == ["fact"]


@case("memory.get")
def _memory_get(api: Any, c: OpenIntentClient) -> None:
    entry = c.create_memory(uid("mem"), "notes", "k1", {"v": 1})
    assert (api.memory.get(entry.id).key, api.memory.get(entry.id).value) == ("k1", {"v": 1})
    with pytest.raises(NotFoundError):
        api.memory.get("no-such-entry")


@case("memory.update")
def _memory_update(api: Any, c: OpenIntentClient) -> None:
    entry = c.create_memory(uid("mem"), "notes", "k1", {"v": 1})
    updated = api.memory.update(entry.id, entry.version, value={"v": 2})
    assert (updated.value, updated.version) == ({"v": 2}, entry.version + 1)
    with pytest.raises(ConflictError):
        api.memory.update(entry.id, entry.version, value={"v": 3})


@case("memory.delete")
def _memory_delete(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    c.memory.store(agent, "fact", "blue")
    c.memory.store(agent, "keep", "me")
    assert api.memory.delete(agent, "fact") == 1
    assert [e.key for e in c.list_memory(agent)] == ["keep"]
    assert api.memory.delete(agent, "fact") == 0


@case("memory.pin")
def _memory_pin(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    stored = c.memory.store(agent, "fact", "blue")
    pinned = api.memory.pin(agent, "fact")
    assert pinned is not None
    assert (pinned.id, pinned.pinned) == (stored.id, True)
    assert c.get_memory(stored.id).pinned is True
    assert api.memory.pin(agent, "no-such-key") is None


@case("memory.list")
def _memory_list(api: Any, c: OpenIntentClient) -> None:
    agent = uid("mem")
    entry = c.create_memory(agent, "notes", "k1", {"v": 1})
    c.create_memory(agent, "other", "k2", {"v": 2})
    assert [e.id for e in api.memory.list(agent, namespace="notes")] == [entry.id]


@case("agents.register")
def _agents_register(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    record = api.agents.register(agent, ["x"], role_id="r")
    assert (record.agent_id, record.capabilities, record.role_id) == (agent, ["x"], "r")
    assert c.get_agent_record(agent).agent_id == agent


@case("agents.get")
def _agents_get(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent, ["y"])
    assert api.agents.get(agent).capabilities == ["y"]
    with pytest.raises(NotFoundError):
        api.agents.get(uid("nobody"))


@case("agents.heartbeat")
def _agents_heartbeat(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert "next_heartbeat_at" in api.agents.heartbeat(agent, 2, ["t1"])
    assert c.get_agent_record(agent).last_heartbeat_at is not None


@case("agents.update_status")
def _agents_update_status(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert api.agents.update_status(agent, "draining")["status"] == "draining"
    assert c.get_agent_record(agent).status == "draining"


@case("agents.drain")
def _agents_drain(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert api.agents.drain(agent)["status"] == "draining"
    assert c.get_agent_record(agent).status == "draining"


@case("agents.deregister")
def _agents_deregister(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    c.register_agent(agent)
    assert api.agents.deregister(agent)["status"] == "deregistered"
    assert c.get_agent_record(agent).status == "deregistered"


@case("agents.list")
def _agents_list(api: Any, c: OpenIntentClient) -> None:
    agent, role = uid("agent"), uid("role")
    c.register_agent(agent, role_id=role)
    assert [a.agent_id for a in api.agents.list(role_id=role)] == [agent]


@case("triggers.create")
def _triggers_create(api: Any, c: OpenIntentClient) -> None:
    namespace = uid("ns")
    trigger = api.triggers.create(
        "nightly", "schedule", condition={"cron": "0 18 * * *"}, namespace=namespace
    )
    assert (trigger.name, trigger.type, trigger.version) == ("nightly", "schedule", 1)
    assert c.get_trigger(trigger.trigger_id).namespace == namespace


@case("triggers.get")
def _triggers_get(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.triggers.get(trigger.trigger_id).type == "schedule"


@case("triggers.update")
def _triggers_update(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    updated = api.triggers.update(trigger.trigger_id, trigger.version, enabled=False)
    assert (updated.enabled, updated.version) == (False, trigger.version + 1)


@case("triggers.fire")
def _triggers_fire(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.triggers.fire(trigger.trigger_id)["fire_count"] == 1
    assert c.get_trigger(trigger.trigger_id).fire_count == 1


@case("triggers.delete")
def _triggers_delete(api: Any, c: OpenIntentClient) -> None:
    trigger = _trigger(c)
    assert api.triggers.delete(trigger.trigger_id) is None
    with pytest.raises(NotFoundError):
        c.get_trigger(trigger.trigger_id)


@case("triggers.list")
def _triggers_list(api: Any, c: OpenIntentClient) -> None:
    namespace = uid("ns")
    trigger = _trigger(c, namespace)
    assert [t.trigger_id for t in api.triggers.list(namespace=namespace)] == [trigger.trigger_id]


@case("tools.create_vault")
def _tools_create_vault(api: Any, c: OpenIntentClient) -> None:
    vault = api.tools.create_vault("owner-1", "prod")
    assert (vault["owner_id"], vault["name"]) == ("owner-1", "prod")
    assert api.get_vault(vault["id"])["name"] == "prod"


@case("tools.get_vault")
def _tools_get_vault(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "stage")
    assert api.tools.get_vault(vault["id"])["name"] == "stage"


@case("tools.create_credential")
def _tools_create_credential(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = api.tools.create_credential(vault["id"], "github", "gh", secret="s3cr3t")
    assert (credential["service"], credential["label"]) == ("github", "gh")
    assert "s3cr3t" not in str(credential)


@case("tools.get_credential")
def _tools_get_credential(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = c.create_credential(vault["id"], "github", "gh")
    assert api.tools.get_credential(credential["id"])["label"] == "gh"


@case("tools.grant")
def _tools_grant(api: Any, c: OpenIntentClient) -> None:
    vault = c.create_vault("owner-1", "prod")
    credential = c.create_credential(vault["id"], "github", "gh", scopes_available=["repo"])
    grant = api.tools.grant(credential["id"], "agent-g", "owner-1", ["repo"])
    assert (grant.agent_id, grant.scopes, grant.credential_id) == (
        "agent-g",
        ["repo"],
        credential["id"],
    )


@case("tools.get_grant")
def _tools_get_grant(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    assert api.tools.get_grant(grant.id).agent_id == "agent-g"


@case("tools.grants")
def _tools_grants(api: Any, c: OpenIntentClient) -> None:
    agent = uid("agent")
    grant = _grant(c, agent)
    assert [g.id for g in api.tools.grants(agent)] == [grant.id]


@case("tools.revoke")
def _tools_revoke(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, uid("agent"))
    assert api.tools.revoke(grant.id)["status"] == "revoked"
    assert c.get_tool_grant(grant.id).status == "revoked"


@case("tools.invoke")
def _tools_invoke(api: Any, c: OpenIntentClient) -> None:
    service = uid("svc")  # the server picks the caller's grant whose service is the tool
    vault = c.create_vault("owner-1", uid("vault"))
    credential = c.create_credential(vault["id"], service, "label")  # no base_url: placeholder
    grant = c.create_tool_grant(credential["id"], "it-agent", "owner-1")
    result = api.tools.invoke(service, "it-agent", {"q": 1})
    assert (result["tool_name"], result["status"]) == (service, "success")
    assert [r["tool"] for r in c.list_invocations(grant.id)] == [service]
    with pytest.raises(ForbiddenError):  # acting for another agent's grants
        api.tools.invoke(service, uid("nobody"), {"q": 1})


@case("tools.record_invocation")
def _tools_record_invocation(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    record = api.tools.record_invocation(grant.id, "github", "list_repos", "agent-g")
    assert (record["tool"], record["grant_id"]) == ("list_repos", grant.id)


@case("tools.invocations")
def _tools_invocations(api: Any, c: OpenIntentClient) -> None:
    grant = _grant(c, "agent-g")
    c.record_invocation(grant.id, "github", "list_repos", "agent-g")
    assert [r["tool"] for r in api.tools.invocations(grant.id)] == ["list_repos"]


@case("coordinator.create_lease")
def _coordinator_create_lease(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = api.coordinator.create_lease("coord-2", intent.id)
    assert (lease.agent_id, lease.intent_id) == ("coord-2", intent.id)
    assert c.get_coordinator_lease(lease.id).id == lease.id


@case("coordinator.get_lease")
def _coordinator_get_lease(api: Any, c: OpenIntentClient) -> None:
    lease = c.create_coordinator_lease("coord-2", new_intent(c).id)
    assert api.coordinator.get_lease(lease.id).agent_id == "coord-2"


@case("coordinator.list_leases")
def _coordinator_list_leases(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    lease = c.create_coordinator_lease("coord-2", intent.id)
    assert [x.id for x in api.coordinator.list_leases(intent.id)] == [lease.id]


@case("coordinator.heartbeat")
def _coordinator_heartbeat(api: Any, c: OpenIntentClient) -> None:
    lease = c.create_coordinator_lease("coord-2", new_intent(c).id)
    assert api.coordinator.heartbeat(lease.id)["status"] == "ok"


@case("coordinator.record_decision")
def _coordinator_record_decision(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    record = api.coordinator.record_decision("coord-2", intent.id, "plan_created", "s", "r")
    assert (record["summary"], record["intent_id"]) == ("s", intent.id)
    assert [r["id"] for r in c.list_decision_records(intent.id)] == [record["id"]]


@case("coordinator.decisions")
def _coordinator_decisions(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    record = c.create_decision_record("coord-2", intent.id, "plan_created", "s", "r")
    assert [r["id"] for r in api.coordinator.decisions(intent.id)] == [record["id"]]


@pytest.mark.parametrize("name", sorted(NAMESPACE_CASES))
def test_namespace_method(api: Any, c: OpenIntentClient, name: str) -> None:
    NAMESPACE_CASES[name](api, c)


# -- RFC-0018..0022: not served by our server --------------------------------------------------


def test_register_identity(api: Any) -> None:
    not_served("identity", lambda: api.register_identity("a1", "pubkey"))


def test_complete_identity_challenge(api: Any) -> None:
    not_served("identity", lambda: api.complete_identity_challenge("a1", "ch", "sig"))


def test_get_identity(api: Any) -> None:
    not_served("identity", lambda: api.get_identity("a1"))


def test_verify_signature(api: Any) -> None:
    not_served("identity", lambda: api.verify_signature("a1", {"a": 1}, "sig"))


def test_rotate_key(api: Any) -> None:
    not_served("identity", lambda: api.rotate_key("a1", "new", "old", "sig"))


def test_verify_event_chain(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    not_served("logs", lambda: api.verify_event_chain(intent.id))


def test_list_checkpoints(api: Any) -> None:
    not_served("logs", lambda: api.list_checkpoints(intent_id="x"))


def test_get_checkpoint(api: Any) -> None:
    not_served("logs", lambda: api.get_checkpoint("cp"))


def test_get_merkle_proof(api: Any) -> None:
    not_served("logs", lambda: api.get_merkle_proof("cp", "ev"))


def test_verify_consistency(api: Any) -> None:
    not_served("logs", lambda: api.verify_consistency("cp1", "cp2"))


def test_create_channel(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    not_served("channels", lambda: api.create_channel(intent.id, "coord", ["a", "b"]))


def test_list_channels(api: Any, c: OpenIntentClient) -> None:
    intent = new_intent(c)
    not_served("channels", lambda: api.list_channels(intent.id))


def test_get_channel(api: Any) -> None:
    not_served("channels", lambda: api.get_channel("ch"))


def test_close_channel(api: Any) -> None:
    not_served("channels", lambda: api.close_channel("ch"))


def test_send_message(api: Any) -> None:
    not_served("channels", lambda: api.send_message("ch", "a", to="b", payload={"x": 1}))


def test_reply_to(api: Any) -> None:
    not_served("channels", lambda: api.reply_to("ch", "m1", "b", {"x": 1}))


def test_list_messages(api: Any) -> None:
    not_served("channels", lambda: api.list_messages("ch"))


def test_get_message(api: Any) -> None:
    not_served("channels", lambda: api.get_message("ch", "m1"))


def test_mark_read(api: Any) -> None:
    not_served("channels", lambda: api.mark_read("ch", "m1"))


def test_ask(api: Any) -> None:
    not_served("channels", lambda: api.ask("ch", "a", "b", {"q": 1}, timeout=1))


def test_federation_status(api: Any) -> None:
    not_served("federation", api.federation_status)


def test_list_federated_agents(api: Any) -> None:
    not_served("federation", lambda: api.list_federated_agents(source_server="http://x"))


def test_federation_dispatch(api: Any) -> None:
    not_served("federation", lambda: api.federation_dispatch("i", "http://127.0.0.1:9"))


def test_federation_receive(api: Any) -> None:
    not_served("federation", lambda: api.federation_receive("d", "http://p", "i", "t"))


def test_send_federation_callback(api: Any, ours: Any) -> None:
    url = f"{ours.base_url}/api/v1/federation/callback"
    not_served("federation", lambda: api.send_federation_callback(url, "d1", "completed"))


def test_federation_discover(api: Any) -> None:
    not_served("federation", api.federation_discover)


# -- closing, and coverage ------------------------------------------------------------------------


def test_close(new_api: Callable[[str], Any]) -> None:
    client = new_api("closing-agent")
    assert "protocol_version" in client.get_server_config()
    assert client.close() is None
    with pytest.raises(RuntimeError, match="closed"):  # the pool is gone
        client.get_server_config()


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


@pytest.fixture(scope="module")
def surfaces() -> dict[str, set[str]]:
    """Public methods per mode (clients pointing nowhere: nothing is sent)."""
    with OpenIntentClient("http://127.0.0.1:9") as sync_client:
        sync_names = _surface(sync_client)
    async_client = AsyncOpenIntentClient("http://127.0.0.1:9")
    async_names = _surface(async_client)
    asyncio.run(async_client.close())
    return {"sync": sync_names, "async": async_names}


def _test_of(name: str) -> tuple[str, str | None]:
    """The test function (and its ``name`` parameter) that covers method ``name``."""
    return ("test_namespace_method", name) if "." in name else (f"test_{name}", None)


def test_every_public_method_has_a_test(surfaces: dict[str, set[str]]) -> None:
    assert surfaces["sync"] == surfaces["async"], "the two clients differ"
    assert len(surfaces["sync"]) > 190  # the enumeration itself works
    namespaced = {n for n in surfaces["sync"] if "." in n}
    assert {n.split(".")[0] for n in namespaced} == {
        "tasks",
        "memory",
        "agents",
        "triggers",
        "tools",
        "coordinator",
    }
    assert set(NAMESPACE_CASES) == namespaced, "NAMESPACE_CASES is out of date"
    flat = sorted(n for n in surfaces["sync"] - namespaced if f"test_{n}" not in globals())
    assert not flat, f"public client methods without a test against our server: {flat}"


def _not_served(name: str) -> bool:
    """Whether the method's test expects our server's 404 (RFC-0018..0022)."""
    test = globals().get(f"test_{name}")
    return test is not None and "not_served(" in inspect.getsource(test)


def test_every_public_method_was_called_against_the_server(
    request: pytest.FixtureRequest,
    surfaces: dict[str, set[str]],
    called: set[tuple[str, str]],
    succeeded: set[tuple[str, str]],
) -> None:
    """Each method, in each mode, was called through ``api`` and succeeded at least once;
    the methods of RFCs our server does not serve were called and answered 404."""
    selected = set()
    for item in request.session.items:
        if item.path == request.path and hasattr(item, "callspec"):
            params = item.callspec.params
            name = getattr(item, "originalname", item.name)
            selected.add((params.get("mode"), name, params.get("name")))
    wanted = {(mode, *_test_of(m)) for mode, names in surfaces.items() for m in names}
    if not wanted <= selected:
        pytest.skip("only part of this module was selected: run all of it to check coverage")
    missing, unexpected = [], []
    for mode, names in surfaces.items():
        for name in sorted(names):
            key = (mode, name)
            if _not_served(name):
                if key not in called or key in succeeded:
                    unexpected.append(f"{mode}: {name}")
            elif key not in succeeded:
                missing.append(f"{mode}: {name}")
    assert not missing, f"never succeeded against our server: {missing}"
    assert not unexpected, f"out-of-scope methods not called, or not refused: {unexpected}"
