"""Scenario steps for RFC-0001, RFC-0003 and RFC-0004 on either reference client."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from ref_client_harness import (
    BUG_BARE_LIST,
    BUG_PLAIN_STR_EVENT,
    BUG_PLAIN_STR_STATUS,
    BUG_UNKNOWN_EVENT_TYPE,
    Ctx,
    check,
    eq,
    ids,
    is_naive_recent,
    raises,
    resolve,
    step,
)

from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError, OpenIntentError
from openintent.models import EventType, IntentStatus, LeaseStatus


async def core_steps(cli: Any, other: Any, label: str, ctx: Ctx) -> None:
    """Intents, events, assignment, leases and governance; ``label`` is the class name."""
    is_async = label.startswith("Async")
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    # RFC-0001 --------------------------------------------------------------------
    with step(key("discover")):
        doc = await resolve(cli.discover())
        eq(doc.get("protocol"), "OpenIntent Coordination Protocol", "discover protocol")
        check("intents" in doc.get("capabilities", []), f"capabilities: {doc}")

    with step(key("create_intent")):
        intent = await resolve(
            cli.create_intent(
                f"{label} root", "the root", constraints={"max": 3}, initial_state={"step": 0}
            )
        )
        eq(intent.title, f"{label} root", "title")
        eq(intent.description, "the root", "description")
        eq(intent.constraints, {"max": 3}, "constraints")
        eq(intent.state.to_dict(), {"step": 0}, "state")
        eq(intent.status, IntentStatus.DRAFT, "status")
        eq(intent.version, 1, "version")
        eq(intent.created_by, agent, "created_by")
        eq(intent.parent_intent_id, None, "parent_intent_id")
        is_naive_recent(intent.created_at, "created_at")
        ctx.root = intent

    if not is_async:
        with step(key("create_intent[parent_intent_id, depends_on]")):
            dep = await resolve(cli.create_intent("dependency"))
            child = await resolve(
                cli.create_intent(
                    "child by create_intent",
                    parent_intent_id=ctx.root.id,
                    depends_on=[dep.id],
                    governance_policy={"require_status_reason": False},
                )
            )
            eq(child.parent_intent_id, ctx.root.id, "parent_intent_id (client reads this key)")
            eq(child.depends_on, [dep.id], "depends_on")
            check(child.governance_policy is not None, "governance_policy returned")

    with step(key("get_intent")):
        got = await resolve(cli.get_intent(ctx.root.id))
        eq(got.id, ctx.root.id, "id")
        eq(got.state.to_dict(), {"step": 0}, "state")
        eq(got.version, 1, "version")
        eq(got.created_at, ctx.root.created_at, "created_at round trip")
        await raises(NotFoundError, lambda: cli.get_intent(str(uuid.uuid4())), "unknown id")

    with step(key("update_state")):
        patched = await resolve(
            cli.update_state(ctx.root.id, 1, {"step": 1, "nested": {"a": {"b": [1, 2]}}})
        )
        eq(patched.version, 2, "version after patch")
        eq(patched.state.to_dict(), {"step": 1, "nested": {"a": {"b": [1, 2]}}}, "state")
        stale = await raises(
            ConflictError, lambda: cli.update_state(ctx.root.id, 1, {"x": 1}), "stale version"
        )
        check(not isinstance(stale, LeaseConflictError), "version conflict is not a lease one")
        eq(getattr(stale, "current_version", None), 2, "ConflictError.current_version")
        eq((await resolve(cli.get_intent(ctx.root.id))).state.get("step"), 1, "stored state")

    with step(key("set_status")):
        active = await resolve(
            cli.set_status(ctx.root.id, 2, IntentStatus.ACTIVE, reason="starting")
        )
        eq(active.status, IntentStatus.ACTIVE, "status")
        eq(active.version, 3, "version")
        await raises(
            ConflictError,
            lambda: cli.set_status(ctx.root.id, 2, IntentStatus.BLOCKED),
            "stale version",
        )
        ctx.root = active

    with step(key("set_status[plain str status]")) as s:
        result = await s.client_bug(
            lambda: cli.set_status(ctx.root.id, ctx.root.version, "blocked"),
            AttributeError,
            "has no attribute 'value'",
            BUG_PLAIN_STR_STATUS,
        )
        eq(result.status, IntentStatus.BLOCKED, "status")

    with step(key("log_event")):
        event = await resolve(
            cli.log_event(
                ctx.root.id,
                EventType.COMMENT,
                {"note": "hi", "n": [1, {"x": None}]},
                trace_id="trace-1",
                parent_event_id="evt-0",
            )
        )
        eq(event.event_type, EventType.COMMENT, "event_type")
        eq(event.intent_id, ctx.root.id, "intent_id")
        eq(event.actor, agent, "actor")
        eq(event.payload, {"note": "hi", "n": [1, {"x": None}]}, "payload")
        check(event.id, "event id")
        is_naive_recent(event.created_at, "created_at")
        ctx.event = event

    with step(key("log_event[plain str event_type]")) as s:
        await s.client_bug(
            lambda: cli.log_event(ctx.root.id, "custom_event", {"x": 1}),
            AttributeError,
            "has no attribute 'value'",
            BUG_PLAIN_STR_EVENT,
        )

    with step(key("get_events")):
        events = await resolve(cli.get_events(ctx.root.id))
        types = [e.event_type for e in events]
        for wanted in (
            EventType.INTENT_CREATED,
            EventType.STATE_PATCHED,
            EventType.STATUS_CHANGED,
            EventType.COMMENT,
        ):
            check(wanted in types, f"{wanted.value} missing from {types}")
        check(ctx.event.id in ids(events), "logged event is listed")
        times = [e.created_at for e in events]
        eq(times, sorted(times, reverse=True), "newest first (reference order)")
        limited = await resolve(cli.get_events(ctx.root.id, limit=2))
        eq(len(limited), 2, "limit honoured")
        # The reference server ignores these filters; ours may honour them.
        filtered = await resolve(
            cli.get_events(
                ctx.root.id,
                event_type=EventType.COMMENT,
                since=datetime.utcnow() - timedelta(hours=1),
            )
        )
        check(ctx.event.id in ids(filtered), "comment listed with event_type/since filters")

    with step(key("assign_agent")):
        assignment = await resolve(cli.assign_agent(ctx.root.id, "worker-x"))
        check(isinstance(assignment, dict), f"raw dict expected, got {assignment!r}")
        eq(assignment.get("agent_id"), "worker-x", "agent_id")
        eq(assignment.get("intent_id"), ctx.root.id, "intent_id")
        eq(assignment.get("role"), "worker", "role")
        check(assignment.get("id"), "assignment id")
        own = await resolve(cli.assign_agent(ctx.root.id))
        eq(own.get("agent_id"), agent, "default agent_id = client agent")

    with step(key("unassign_agent")):
        eq(await resolve(cli.unassign_agent(ctx.root.id, "worker-x")), None, "returns None")
        eq(await resolve(cli.unassign_agent(ctx.root.id)), None, "default agent")
        events = await resolve(cli.get_events(ctx.root.id, limit=5))
        check(
            EventType.AGENT_UNASSIGNED in [e.event_type for e in events],
            "agent_unassigned event recorded",
        )

    with step(key("list_intents")):
        active = await resolve(cli.list_intents(status=IntentStatus.ACTIVE, limit=1000))
        check(ctx.root.id in ids(active), "active root listed under status=active")
        check(all(i.status == IntentStatus.ACTIVE for i in active), "status filter")
        page = await resolve(cli.list_intents(limit=1, offset=0))
        eq(len(page), 1, "limit=1 page size")
        everything = await resolve(cli.list_intents(limit=1000))
        check(ctx.root.id in ids(everything), "unfiltered list contains the root")

    # RFC-0003 leases --------------------------------------------------------------
    with step(key("acquire_lease")):
        work = await resolve(cli.create_intent(f"{label} leases", ""))
        ctx.work = work
        lease = await resolve(cli.acquire_lease(work.id, "research", 60))
        eq(lease.intent_id, work.id, "intent_id")
        eq(lease.scope, "research", "scope")
        eq(lease.status, LeaseStatus.ACTIVE, "status")
        check(lease.is_active, "is_active (client compares with local naive now)")
        check(
            timedelta(seconds=30) < lease.expires_at - datetime.utcnow() <= timedelta(seconds=61),
            f"expires_at ~ now + 60 s: {lease.expires_at}",
        )
        # Our server names the acting agent (X-Agent-ID), never the caller's API key.
        eq(lease.agent_id, cli.agent_id, "holder = the acting agent")
        conflict = await raises(
            LeaseConflictError,
            lambda: other.acquire_lease(work.id, "research"),
            "second holder on an active scope",
        )
        eq(conflict.status_code, 409, "status_code")
        await raises(
            LeaseConflictError, lambda: cli.acquire_lease(work.id, "research"), "re-acquire"
        )
        parallel = await resolve(other.acquire_lease(work.id, "synthesis"))
        eq(parallel.scope, "synthesis", "other scope is free")
        await raises(NotFoundError, lambda: cli.acquire_lease(str(uuid.uuid4()), "x"), "404")
        ctx.lease = lease

    with step(key("renew_lease")):
        renewed = await resolve(cli.renew_lease(ctx.work.id, ctx.lease.id, 600))
        eq(renewed.id, ctx.lease.id, "same lease")
        check(renewed.expires_at > ctx.lease.expires_at, "expiry moved forward")
        check(
            renewed.expires_at - datetime.utcnow() > timedelta(seconds=500),
            f"expires_at ~ now + 600 s: {renewed.expires_at}",
        )
        await raises(
            NotFoundError,
            lambda: other.renew_lease(ctx.work.id, ctx.lease.id, 60),
            "renewal by another holder",
        )

    with step(key("get_leases")) as s:
        leases = await s.client_bug(
            lambda: cli.get_leases(ctx.work.id),
            AttributeError,
            "'list' object has no attribute 'get'",
            BUG_BARE_LIST.format("GET /intents/{id}/leases"),
        )
        check({"research", "synthesis"} <= {x.scope for x in leases}, "both scopes listed")

    with step(key("release_lease")):
        eq(await resolve(cli.release_lease(ctx.work.id, ctx.lease.id)), None, "returns None")
        again = await resolve(other.acquire_lease(ctx.work.id, "research", 30))
        eq(again.scope, "research", "scope free after release")
        await resolve(other.release_lease(ctx.work.id, again.id))
        await raises(
            NotFoundError,
            lambda: cli.renew_lease(ctx.work.id, ctx.lease.id),
            "renewing a released lease",
        )

    with step(key("get_events[after lease_renewed]")) as s:
        events = await s.client_bug(
            lambda: cli.get_events(ctx.work.id),
            ValueError,
            "'lease_renewed' is not a valid EventType",
            BUG_UNKNOWN_EVENT_TYPE.format("lease_renewed"),
        )
        check(EventType.LEASE_ACQUIRED in [e.event_type for e in events], "lease events")

    # RFC-0004 governance ---------------------------------------------------------
    with step(key("request_arbitration")):
        gov = await resolve(cli.create_intent(f"{label} governance", ""))
        ctx.gov = gov
        arb = await resolve(cli.request_arbitration(gov.id, "split vote", {"options": [1, 2]}))
        eq(arb.intent_id, gov.id, "intent_id")
        eq(arb.reason, "split vote", "reason")
        eq(arb.requester_id, agent, "requester_id")
        eq(arb.status, "pending", "status")
        check(arb.id, "id")
        is_naive_recent(arb.created_at, "created_at")

    with step(key("record_decision")):
        decision = await resolve(cli.record_decision(ctx.gov.id, "choice", "option 2", "cheaper"))
        eq(decision.intent_id, ctx.gov.id, "intent_id")
        eq(decision.decision_type, "choice", "decision_type")
        eq(decision.outcome, "option 2", "outcome")
        eq(decision.reasoning, "cheaper", "reasoning")
        eq(decision.decision_maker_id, agent, "decision_maker_id")
        check(decision.id, "id")
        types = [e.event_type for e in await resolve(cli.get_events(ctx.gov.id))]
        check(EventType.ARBITRATION_REQUESTED in types, "arbitration_requested logged")
        check(EventType.DECISION_RECORDED in types, "decision_recorded logged")
        ctx.decision = decision

    with step(key("get_decisions")) as s:
        decisions = await s.client_bug(
            lambda: cli.get_decisions(ctx.gov.id),
            AttributeError,
            "'list' object has no attribute 'get'",
            BUG_BARE_LIST.format("GET /intents/{id}/decisions"),
        )
        check(isinstance(decisions, list), f"list expected: {decisions!r}")

    with step(key("escalate_to_human")):
        esc = await resolve(
            cli.escalate_to_human(ctx.gov.id, "stuck", "high", "low", context={"x": 1})
        )
        eq(esc.intent_id, ctx.gov.id, "intent_id")
        eq(esc.escalated_by, agent, "escalated_by")
        eq((esc.reason, esc.priority, esc.urgency), ("stuck", "high", "low"), "fields")
        eq(esc.context, {"x": 1}, "context")
        eq(esc.status, "pending", "status")
        is_naive_recent(esc.created_at, "created_at")
        ctx.esc = esc

    with step(key("list_escalations")):
        pending = await resolve(cli.list_escalations(intent_id=ctx.gov.id, status="pending"))
        eq(ids(pending), [ctx.esc.id], "pending escalations of the intent")
        every = await resolve(cli.list_escalations())
        check(ctx.esc.id in ids(every), "unfiltered list")

    with step(key("resolve_escalation")):
        done = await resolve(cli.resolve_escalation(ctx.esc.id, "fixed", notes="n"))
        eq(done.status, "resolved", "status")
        eq(done.resolution, "fixed", "resolution")
        eq(done.resolution_notes, "n", "resolution_notes")
        eq(done.resolved_by, agent, "resolved_by")
        is_naive_recent(done.resolved_at, "resolved_at")
        eq(await resolve(cli.list_escalations(intent_id=ctx.gov.id, status="pending")), [], "")

    with step(key("set_governance_policy")):
        current = await resolve(cli.get_intent(ctx.gov.id))
        policy = {"completion_mode": "require_approval", "require_status_reason": True}
        governed = await resolve(cli.set_governance_policy(ctx.gov.id, current.version, policy))
        eq(governed.version, current.version + 1, "version")
        check(governed.governance_policy is not None, "policy parsed")
        eq(governed.governance_policy.completion_mode, "require_approval", "mode")
        eq(governed.governance_policy.require_status_reason, True, "require_status_reason")
        await raises(
            ConflictError,
            lambda: cli.set_governance_policy(ctx.gov.id, current.version, policy),
            "stale version",
        )
        denied = await raises(
            OpenIntentError,
            lambda: cli.set_status(ctx.gov.id, governed.version, IntentStatus.ACTIVE),
            "require_status_reason enforced",
        )
        eq(denied.status_code, 403, "status_code")
        ctx.governed = governed

    with step(key("get_governance_policy")):
        view = await resolve(cli.get_governance_policy(ctx.gov.id))
        eq(view.get("intent_id"), ctx.gov.id, "intent_id")
        eq(view.get("governance_policy", {}).get("completion_mode"), "require_approval", "")
        effective = view.get("effective_policy", {})
        eq(effective.get("write_scope"), "any", "effective default write_scope")
        eq(effective.get("require_status_reason"), True, "effective require_status_reason")

    with step(key("request_approval")):
        approval = await resolve(
            cli.request_approval(ctx.gov.id, "complete", reason="done?", context={"k": 1})
        )
        eq(approval.intent_id, ctx.gov.id, "intent_id")
        eq(approval.action, "complete", "action")
        eq(approval.requested_by, agent, "requested_by")
        eq(approval.status, "pending", "status")
        eq(approval.context, {"k": 1}, "context")
        ctx.approval = approval
        blocked = await raises(
            OpenIntentError,
            lambda: cli.set_status(
                ctx.gov.id, ctx.governed.version, IntentStatus.COMPLETED, reason="done"
            ),
            "completion gate before approval",
        )
        eq(blocked.status_code, 403, "status_code")

    with step(key("get_approval_status")):
        fetched = await resolve(cli.get_approval_status(ctx.gov.id, ctx.approval.id))
        eq(fetched.id, ctx.approval.id, "id")
        eq(fetched.status, "pending", "status")
        await raises(
            NotFoundError,
            lambda: cli.get_approval_status(ctx.gov.id, str(uuid.uuid4())),
            "unknown approval",
        )

    with step(key("approve_approval")):
        approved = await resolve(cli.approve_approval(ctx.gov.id, ctx.approval.id))
        check(isinstance(approved, dict), "raw dict")
        eq(approved.get("status"), "approved", "status")
        check(approved.get("decided_by"), "decided_by")
        eq(
            (await resolve(cli.get_approval_status(ctx.gov.id, ctx.approval.id))).status,
            "approved",
            "stored status",
        )
        await raises(
            ConflictError, lambda: cli.approve_approval(ctx.gov.id, ctx.approval.id), "twice"
        )
        current = await resolve(cli.get_intent(ctx.gov.id))
        completed = await resolve(
            cli.set_status(ctx.gov.id, current.version, IntentStatus.COMPLETED, reason="ok")
        )
        eq(completed.status, IntentStatus.COMPLETED, "completion allowed after approval")

    with step(key("deny_approval")):
        other_req = await resolve(cli.request_approval(ctx.gov.id, "deploy"))
        denied_doc = await resolve(cli.deny_approval(ctx.gov.id, other_req.id))
        eq(denied_doc.get("status"), "denied", "status")
        eq(denied_doc.get("id"), other_req.id, "id")
        await raises(ConflictError, lambda: cli.deny_approval(ctx.gov.id, other_req.id), "twice")

    with step(key("remove_governance_policy")):
        plain = await resolve(cli.create_intent(f"{label} policy removal", ""))
        first = await resolve(cli.set_governance_policy(plain.id, 1, {"write_scope": "any"}))
        removed = await resolve(cli.remove_governance_policy(plain.id, first.version))
        eq(removed.version, first.version + 1, "version")
        eq(removed.governance_policy, None, "policy gone")
        view = await resolve(cli.get_governance_policy(plain.id))
        eq(view.get("governance_policy"), {}, "stored policy after removal")
        await raises(
            ConflictError, lambda: cli.remove_governance_policy(plain.id, 1), "stale version"
        )
