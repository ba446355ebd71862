"""Scenario steps only the sync reference client has: RFC-0002 graphs, lease(), SSE."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Callable
from typing import Any

from ref_client_harness import (
    BUG_UNKNOWN_EVENT_TYPE,
    Ctx,
    QueueAdapter,
    Watcher,
    check,
    eq,
    expect_event,
    ids,
    queue_stream,
    raises_now,
    step,
    stop_waking,
    wait_connected,
)

from openintent import OpenIntentClient
from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError, ValidationError
from openintent.models import EventType, IntentStatus, LeaseStatus
from openintent.streaming import EventQueue, SSEEvent, SSEStream, SSESubscription


def sync_only(cli: OpenIntentClient, other: OpenIntentClient) -> None:
    ctx = Ctx()

    def key(method: str) -> str:
        return f"OpenIntentClient.{method}"

    # RFC-0002 --------------------------------------------------------------------
    with step(key("create_child_intent")):
        parent = cli.create_intent("graph parent")
        dep = cli.create_intent("graph dependency")
        blocked = cli.create_child_intent(
            parent.id, "blocked child", "waits", {"c": 1}, {"s": 1}, depends_on=[dep.id]
        )
        eq(blocked.parent_intent_id, parent.id, "parent_intent_id (client reads this key)")
        eq(blocked.depends_on, [dep.id], "depends_on")
        eq((blocked.constraints, blocked.state.to_dict()), ({"c": 1}, {"s": 1}), "content")
        eq(blocked.status, IntentStatus.DRAFT, "status")
        ready = cli.create_child_intent(parent.id, "ready child")
        grandchild = cli.create_child_intent(ready.id, "grandchild")
        events = cli.get_events(blocked.id)
        eq([e.event_type for e in events], [EventType.INTENT_CREATED], "child event")
        raises_now(
            NotFoundError, lambda: cli.create_child_intent(str(uuid.uuid4()), "x"), "no parent"
        )
        ctx.parent, ctx.dep, ctx.blocked, ctx.ready, ctx.grand = (
            parent,
            dep,
            blocked,
            ready,
            grandchild,
        )

    with step(key("get_children")):
        children = cli.get_children(ctx.parent.id)
        eq(sorted(ids(children)), sorted([ctx.blocked.id, ctx.ready.id]), "children")
        check(all(c.parent_intent_id == ctx.parent.id for c in children), "parent key")
        eq(cli.get_children(ctx.grand.id), [], "leaf has no children")

    with step(key("get_descendants")):
        desc = cli.get_descendants(ctx.parent.id)
        eq(sorted(ids(desc)), sorted([ctx.blocked.id, ctx.ready.id, ctx.grand.id]), "all")

    with step(key("get_ancestors")):
        eq(ids(cli.get_ancestors(ctx.grand.id)), [ctx.ready.id, ctx.parent.id], "nearest first")
        eq(cli.get_ancestors(ctx.parent.id), [], "root")

    with step(key("get_dependencies")):
        eq(ids(cli.get_dependencies(ctx.blocked.id)), [ctx.dep.id], "dependencies")

    with step(key("get_dependents")):
        eq(ids(cli.get_dependents(ctx.dep.id)), [ctx.blocked.id], "dependents")

    with step(key("get_ready_intents")):
        eq(ids(cli.get_ready_intents(ctx.parent.id)), [ctx.ready.id], "ready children")

    with step(key("get_blocked_intents")):
        eq(ids(cli.get_blocked_intents(ctx.parent.id)), [ctx.blocked.id], "blocked children")

    with step(key("add_dependency")):
        extra = cli.create_intent("extra dependency")
        added = cli.add_dependency(ctx.ready.id, extra.id, 1)
        eq(added.version, 2, "version")
        eq(added.depends_on, [extra.id], "depends_on")
        cycle = raises_now(
            ValidationError, lambda: cli.add_dependency(extra.id, ctx.ready.id, 1), "cycle"
        )
        eq(cycle.status_code, 400, "a cycle is a 400 (ValidationError)")
        raises_now(ConflictError, lambda: cli.add_dependency(ctx.ready.id, ctx.dep.id, 1), "stale")
        blocked_now = sorted(ids(cli.get_blocked_intents(ctx.parent.id)))
        eq(blocked_now, sorted([ctx.blocked.id, ctx.ready.id]), "new dependency blocks")
        ctx.extra, ctx.added = extra, added

    with step(key("remove_dependency")):
        removed = cli.remove_dependency(ctx.ready.id, ctx.extra.id, ctx.added.version)
        eq(removed.version, ctx.added.version + 1, "version")
        eq(removed.depends_on, [], "depends_on")
        eq(ids(cli.get_ready_intents(ctx.parent.id)), [ctx.ready.id], "ready again")

    with step(key("get_intent_graph")):
        graph = cli.get_intent_graph(ctx.parent.id)
        check(isinstance(graph, dict), "raw dict")
        eq(graph.get("root_id"), ctx.parent.id, "root_id")
        nodes = {n["id"] for n in graph.get("nodes", [])}
        wanted = {ctx.parent.id, ctx.blocked.id, ctx.ready.id, ctx.grand.id, ctx.dep.id}
        eq(wanted - nodes, set(), "nodes")
        edges = {(e["from"], e["to"], e["type"]) for e in graph.get("edges", [])}
        check((ctx.parent.id, ctx.blocked.id, "parent") in edges, f"parent edge: {edges}")
        check((ctx.dep.id, ctx.blocked.id, "dependency") in edges, f"dependency edge: {edges}")
        check("aggregate_status" in graph, "aggregate_status")

    # RFC-0003 lease() --------------------------------------------------------------
    with step(key("lease")):
        scoped = cli.create_intent("lease context manager")
        with cli.lease(scoped.id, "analysis", 60) as held:
            eq(held.scope, "analysis", "scope")
            eq(held.status, LeaseStatus.ACTIVE, "status")
            raises_now(
                LeaseConflictError,
                lambda: other.acquire_lease(scoped.id, "analysis"),
                "scope held inside the block",
            )
        after = other.acquire_lease(scoped.id, "analysis", 10)
        other.release_lease(scoped.id, after.id)

        def failing_body() -> None:
            with cli.lease(scoped.id, "analysis"):
                raise KeyError("body error")

        raises_now(KeyError, failing_body, "the body's exception propagates")
        again = other.acquire_lease(scoped.id, "analysis", 10)
        other.release_lease(scoped.id, again.id)

    with step(key("get_events[after escalation]")) as s:
        esc_intent = cli.create_intent("escalated")
        cli.escalate_to_human(esc_intent.id, "help")
        events = s.client_bug_now(
            lambda: cli.get_events(esc_intent.id),
            ValueError,
            "'escalation_initiated' is not a valid EventType",
            BUG_UNKNOWN_EVENT_TYPE.format("escalation_initiated"),
        )
        check(events, "events listed")

    sse(cli, ctx)


def sse(cli: OpenIntentClient, ctx: Ctx) -> None:
    """RFC-0006 part B: the client-style stream paths with the runtime event names."""

    def key(method: str) -> str:
        return f"OpenIntentClient.{method}"

    with step(key("subscribe_sse")):
        watched = cli.create_intent("sse watched", initial_state={"n": 0})
        with Watcher(cli.subscribe_sse(watched.id)) as w:
            cli.update_state(watched.id, 1, {"n": 1})
            ev = w.expect("STATE_CHANGED", lambda e: e.intent_id == watched.id)
            eq(ev.data.get("new_state"), {"n": 1}, "new_state")
            eq(ev.data.get("old_state"), {"n": 0}, "old_state")
            check(ev.id, "event id (for Last-Event-ID)")
            cli.set_status(watched.id, 2, IntentStatus.ACTIVE)
            ev = w.expect("STATUS_CHANGED", lambda e: e.intent_id == watched.id)
            eq(ev.data.get("new_status"), "active", "new_status")
            cli.log_event(watched.id, EventType.COMMENT, {"note": "hi"})
            ev = w.expect("comment", lambda e: e.intent_id == watched.id)
            eq(ev.data.get("payload"), {"note": "hi"}, "logged event payload")
            lease = cli.acquire_lease(watched.id, "io", 30)
            cli.release_lease(watched.id, lease.id)
            ev = w.expect("LEASE_RELEASED", lambda e: e.intent_id == watched.id)
            eq(ev.data.get("scope"), "io", "scope")
        ctx.watched = watched

    with step(key("subscribe_agent")):
        target = f"sse-agent-{uuid.uuid4().hex[:8]}"
        with Watcher(cli.subscribe_agent(target)) as w:
            cli.assign_agent(ctx.watched.id, target)
            ev = w.expect("AGENT_ASSIGNED", lambda e: e.intent_id == ctx.watched.id)
            eq(ev.agent_id, target, "agent_id")
            current = cli.get_intent(ctx.watched.id)
            cli.update_state(ctx.watched.id, current.version, {"n": 2})
            ev = w.expect("STATE_CHANGED", lambda e: e.intent_id == ctx.watched.id)
            eq(ev.data.get("new_state"), {"n": 2}, "assigned agent sees state changes")
        default_stream = cli.subscribe_agent()
        check(default_stream.url.endswith(f"/api/v1/agents/{cli.agent_id}/subscribe"), "url")

    with step(key("subscribe_portfolio")):
        pf = cli.create_portfolio("sse portfolio", "")
        member = cli.create_intent("sse member")
        with Watcher(cli.subscribe_portfolio(pf.id)) as w:
            cli.add_intent_to_portfolio(pf.id, member.id)
            ev = w.expect("PORTFOLIO_PROGRESS", lambda e: e.portfolio_id == pf.id)
            eq(ev.data.get("total"), 1, "total members")
        ctx.pf_sse = pf

    with step(key("create_event_queue")):
        # intent_id=
        q = cli.create_event_queue(intent_id=ctx.watched.id)
        _queue_round_trip(
            q,
            lambda: cli.log_event(ctx.watched.id, EventType.COMMENT, {"q": 1}),
            "comment",
            lambda e: e.data.get("payload") == {"q": 1},
        )
        # portfolio_id=
        member = cli.create_intent("queue member")
        q = cli.create_event_queue(portfolio_id=ctx.pf_sse.id)
        _queue_round_trip(
            q,
            lambda: cli.add_intent_to_portfolio(ctx.pf_sse.id, member.id),
            "PORTFOLIO_PROGRESS",
            lambda e: e.data.get("intent_id") == member.id,
        )
        # agent_id=, then the default (this client's agent)
        for agent_arg, target in ((f"q-agent-{uuid.uuid4().hex[:6]}",) * 2, (None, cli.agent_id)):
            q = (
                cli.create_event_queue(agent_id=agent_arg)
                if agent_arg
                else cli.create_event_queue()
            )
            _queue_round_trip(
                q,
                lambda t=target: cli.assign_agent(member.id, t),
                "AGENT_ASSIGNED",
                lambda e, t=target: e.agent_id == t and e.intent_id == member.id,
            )

    with step("streaming.SSEStream"):
        stream = SSEStream(
            f"{cli.base_url}/api/v1/intents/{ctx.watched.id}/subscribe",
            {"X-API-Key": cli.api_key, "X-Agent-ID": cli.agent_id},
        )
        with Watcher(stream) as w:
            cli.log_event(ctx.watched.id, EventType.COMMENT, {"direct": True})
            first = w.expect("comment", lambda e: e.data.get("payload") == {"direct": True})
        check(first.id, "id")
        # Reconnect with Last-Event-ID: the server replays what was missed.
        cli.log_event(ctx.watched.id, EventType.COMMENT, {"missed": True})
        eq(stream._last_event_id, first.id, "client remembers the last id")
        with Watcher(stream) as w:
            w.expect("comment", lambda e: e.data.get("payload") == {"missed": True})
        unauthorized = SSEStream(
            f"{cli.base_url}/api/v1/intents/{ctx.watched.id}/subscribe",
            {"X-API-Key": "wrong-key"},
            max_reconnects=0,
        )
        it = iter(unauthorized)
        err = next(it)
        unauthorized.stop()
        eq((err.type, err.data.get("status_code")), ("error", 401), "bad key -> error event")

    with step("streaming.SSESubscription"):
        got: queue.Queue[SSEEvent] = queue.Queue()
        sub = SSESubscription(
            f"{cli.base_url}/api/v1/intents/{ctx.watched.id}/subscribe",
            {"X-API-Key": cli.api_key, "X-Agent-ID": cli.agent_id},
            callback=got.put,
        )
        seen: list[SSEEvent] = []
        sub.start()
        try:
            wait_connected(sub._stream, seen, got)
            cli.log_event(ctx.watched.id, EventType.COMMENT, {"sub": 1})
            expect_event(got, seen, "comment", lambda e: e.data.get("payload") == {"sub": 1})
        finally:
            stop_waking(sub, lambda: cli.log_event(ctx.watched.id, EventType.COMMENT, {}))

    with step("streaming.EventQueue"):
        eq_q = EventQueue(
            f"{cli.base_url}/api/v1/intents/{ctx.watched.id}/subscribe",
            {"X-API-Key": cli.api_key, "X-Agent-ID": cli.agent_id},
        )

        def write() -> None:
            cli.log_event(ctx.watched.id, EventType.COMMENT, {"eq": 1})

        eq_q.start()
        try:
            queued = QueueAdapter(eq_q)
            arrived: list[SSEEvent] = []
            wait_connected(queue_stream(eq_q), arrived, queued)
            eq(eq_q.get(timeout=0.05), None, "get() times out with None")
            write()
            expect_event(queued, arrived, "comment", lambda e: e.data.get("payload") == {"eq": 1})
        finally:
            stop_waking(eq_q, write)


def _queue_round_trip(
    q: EventQueue, write: Callable[[], Any], event_type: str, pred: Callable[[SSEEvent], bool]
) -> None:
    q.start()
    try:
        events = QueueAdapter(q)
        seen: list[SSEEvent] = []
        wait_connected(queue_stream(q), seen, events)
        write()
        expect_event(events, seen, event_type, pred)
    finally:
        stop_waking(q, write)
