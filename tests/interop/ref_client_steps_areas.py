"""Scenario steps for RFC-0005 to RFC-0011 on either reference client."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ref_client_harness import Ctx, check, eq, ids, raises, resolve, step

from openintent.exceptions import NotFoundError
from openintent.models import (
    AccessPolicy,
    AccessRequestStatus,
    EventType,
    Intent,
    MembershipRole,
    Permission,
    PortfolioStatus,
    RetryStrategy,
)


async def area_steps(cli: Any, label: str, ctx: Ctx) -> None:
    """Attachments, webhooks, portfolios, LLM events, costs, retries, access control."""
    is_async = label.startswith("Async")
    agent = cli.agent_id

    def key(method: str) -> str:
        return f"{label}.{method}"

    # RFC-0005 attachments --------------------------------------------------------
    with step(key("add_attachment")):
        files = await resolve(cli.create_intent(f"{label} files", ""))
        ctx.files = files
        if is_async:
            att = await cli.add_attachment(
                files.id, "r.jpg", "image/jpeg", "https://s.example/r.jpg", 245000
            )
        else:
            att = cli.add_attachment(
                files.id,
                "r.jpg",
                "image/jpeg",
                245000,
                "https://s.example/r.jpg",
                metadata={"width": 640},
            )
        eq((att.filename, att.mime_type, att.size), ("r.jpg", "image/jpeg", 245000), "fields")
        eq(att.storage_url, "https://s.example/r.jpg", "storage_url")
        eq(att.intent_id, files.id, "intent_id")
        if not is_async:
            eq(att.metadata, {"width": 640}, "metadata kept")
        check(att.uploaded_by, "uploaded_by")
        ctx.att = att

    with step(key("get_attachments")):
        listed = await resolve(cli.get_attachments(ctx.files.id))
        eq(ids(listed), [ctx.att.id], "attachments")
        eq(listed[0].storage_url, ctx.att.storage_url, "storage_url round trip")
        eq(await resolve(cli.get_attachments(str(uuid.uuid4()))), [], "unknown intent")

    with step(key("delete_attachment")):
        eq(await resolve(cli.delete_attachment(ctx.files.id, ctx.att.id)), None, "None")
        eq(await resolve(cli.get_attachments(ctx.files.id)), [], "gone")
        await raises(
            NotFoundError, lambda: cli.delete_attachment(ctx.files.id, ctx.att.id), "twice"
        )

    # RFC-0006 webhook subscriptions ----------------------------------------------
    with step(key("subscribe")):
        hook = "http://127.0.0.1:9/hook"
        if is_async:
            sub = await cli.subscribe(
                hook, event_types=["state_patched"], intent_id=ctx.files.id, expires_in_hours=2
            )
        else:
            sub = cli.subscribe(
                intent_id=ctx.files.id,
                event_types=["state_patched"],
                webhook_url=hook,
                expires_at=datetime.utcnow() + timedelta(hours=2),
            )
        check(sub.id, "id")
        eq(sub.intent_id, ctx.files.id, "intent_id")
        eq(sub.subscriber_id, agent, "subscriber_id")
        eq(sub.event_types, ["state_patched"], "event_types")
        eq(sub.webhook_url, hook, "webhook_url")
        check(sub.active, "active")
        ctx.sub = sub

    with step(key("get_subscriptions")):
        subs = await resolve(cli.get_subscriptions(intent_id=ctx.files.id))
        eq(ids(subs), [ctx.sub.id], "subscriptions of the intent")
        every = await resolve(cli.get_subscriptions())
        check(ctx.sub.id in ids(every), "unfiltered")

    with step(key("unsubscribe")):
        eq(await resolve(cli.unsubscribe(ctx.sub.id)), None, "None")
        eq(await resolve(cli.get_subscriptions(intent_id=ctx.files.id)), [], "gone")

    # RFC-0007 portfolios ---------------------------------------------------------
    with step(key("create_portfolio")):
        pf = await resolve(
            cli.create_portfolio(
                f"{label} trip",
                "a trip",
                governance_policy={"require_all_completed": True},
                metadata={"m": 1},
            )
        )
        eq((pf.name, pf.description), (f"{label} trip", "a trip"), "name, description")
        eq(pf.created_by, agent, "created_by")
        eq(pf.status, PortfolioStatus.ACTIVE, "status")
        eq(pf.governance_policy, {"require_all_completed": True}, "governance_policy")
        eq(pf.metadata, {"m": 1}, "metadata")
        bare = await resolve(cli.create_portfolio(f"{label} no description"))
        check(bare.description in ("", None), f"description: {bare.description!r}")
        ctx.pf = pf

    with step(key("get_portfolio")):
        got_pf = await resolve(cli.get_portfolio(ctx.pf.id))
        eq((got_pf.id, got_pf.name), (ctx.pf.id, ctx.pf.name), "round trip")
        await raises(NotFoundError, lambda: cli.get_portfolio(str(uuid.uuid4())), "404")

    with step(key("list_portfolios")):
        mine = await resolve(cli.list_portfolios(created_by=agent))
        check(ctx.pf.id in ids(mine), "own portfolio listed")
        check(all(p.created_by == agent for p in mine), "created_by filter")
        eq(await resolve(cli.list_portfolios(created_by=f"nobody-{uuid.uuid4()}")), [], "none")

    with step(key("add_intent_to_portfolio")):
        member = await resolve(cli.create_intent(f"{label} member", ""))
        ctx.member = member
        membership = await resolve(
            cli.add_intent_to_portfolio(ctx.pf.id, member.id, MembershipRole.PRIMARY, 10)
        )
        check(membership.id, "membership id")
        eq(membership.portfolio_id, ctx.pf.id, "portfolio_id")
        eq(membership.intent_id, member.id, "intent_id")
        eq(membership.role, MembershipRole.PRIMARY, "role")
        eq(membership.priority, 10, "priority")
        await resolve(cli.add_intent_to_portfolio(ctx.pf.id, ctx.root.id))

    with step(key("get_portfolio_intents")):
        members, aggregate = await resolve(cli.get_portfolio_intents(ctx.pf.id))
        eq(sorted(ids(members)), sorted([ctx.member.id, ctx.root.id]), "member intents")
        check(all(isinstance(m, Intent) for m in members), "Intent objects")
        check(aggregate is not None, "aggregate returned")

    with step(key("get_intent_portfolios")):
        of_member = await resolve(cli.get_intent_portfolios(ctx.member.id))
        eq(ids(of_member), [ctx.pf.id], "portfolios of the member")

    with step(key("update_portfolio_status")):
        updated = await resolve(cli.update_portfolio_status(ctx.pf.id, PortfolioStatus.COMPLETED))
        eq(updated.status, PortfolioStatus.COMPLETED, "status")
        eq((await resolve(cli.get_portfolio(ctx.pf.id))).status, PortfolioStatus.COMPLETED, "")

    with step(key("remove_intent_from_portfolio")):
        eq(await resolve(cli.remove_intent_from_portfolio(ctx.pf.id, ctx.member.id)), None, "")
        members, _ = await resolve(cli.get_portfolio_intents(ctx.pf.id))
        eq(ids(members), [ctx.root.id], "member removed")
        eq(await resolve(cli.get_intent_portfolios(ctx.member.id)), [], "no portfolios left")

    # RFC-0008 LLM / tool / stream events -----------------------------------------
    llm = await _llm_events(cli, key, ctx)

    with step(key("get_events[RFC-0008 events]")):
        events = await resolve(cli.get_events(llm.id))
        logged = {e.event_type.value for e in events}
        wanted = {
            "tool_call_started",
            "tool_call_completed",
            "tool_call_failed",
            "llm_request_started",
            "llm_request_completed",
            "llm_request_failed",
            "stream_started",
            "stream_chunk",
            "stream_completed",
            "stream_cancelled",
        }
        eq(wanted - logged, set(), "RFC-0008 events read back")

    # RFC-0009 costs --------------------------------------------------------------
    with step(key("record_cost")):
        costly = await resolve(cli.create_intent(f"{label} costs", ""))
        ctx.costly = costly
        cost = await resolve(
            cli.record_cost(
                costly.id, "tokens", 1500, "tokens", provider="openai", metadata={"model": "m"}
            )
        )
        eq((cost.amount, cost.unit, cost.cost_type), (1500, "tokens", "tokens"), "fields")
        eq(cost.provider, "openai", "provider")
        eq(cost.intent_id, costly.id, "intent_id")
        eq(cost.metadata, {"model": "m"}, "metadata")
        check(cost.agent_id, "agent_id")
        second = await resolve(cli.record_cost(costly.id, "api_call", 2.5, "usd"))
        eq(second.amount, 2.5, "float amount")
        ctx.costs = [cost.id, second.id]

    with step(key("get_costs")):
        records, summary = await resolve(cli.get_costs(ctx.costly.id))
        eq(sorted(ids(records)), sorted(ctx.costs), "cost records")
        eq({r.id: r.metadata for r in records}[ctx.costs[0]], {"model": "m"}, "metadata")
        check(summary is not None, "summary object")
        unknown, _ = await resolve(cli.get_costs(str(uuid.uuid4())))
        eq(unknown, [], "unknown intent -> no records")

    # RFC-0010 retry policies and failures ----------------------------------------
    with step(key("set_retry_policy")):
        retried = await resolve(cli.create_intent(f"{label} retries", ""))
        ctx.retried = retried
        if is_async:
            pol = await cli.set_retry_policy(
                retried.id, RetryStrategy.LINEAR, 5, 100, 2000, fallback_agent_id="backup"
            )
        else:
            pol = cli.set_retry_policy(
                retried.id,
                RetryStrategy.LINEAR,
                5,
                100,
                2000,
                fallback_agent_id="backup",
                failure_threshold=4,
            )
            eq(pol.failure_threshold, 4, "failure_threshold")
        eq(pol.strategy, RetryStrategy.LINEAR, "strategy")
        eq((pol.max_retries, pol.base_delay_ms, pol.max_delay_ms), (5, 100, 2000), "delays")
        eq(pol.fallback_agent_id, "backup", "fallback_agent_id")
        eq(pol.intent_id, retried.id, "intent_id")
        ctx.policy = pol

    with step(key("get_retry_policy")):
        fetched_pol = await resolve(cli.get_retry_policy(ctx.retried.id))
        eq(fetched_pol.id, ctx.policy.id, "id")
        eq(fetched_pol.strategy, RetryStrategy.LINEAR, "strategy")
        eq(fetched_pol.fallback_agent_id, "backup", "fallback_agent_id")
        eq(await resolve(cli.get_retry_policy(ctx.files.id)), None, "no policy -> None")

    with step(key("record_failure")):
        if is_async:
            failure = await cli.record_failure(
                ctx.retried.id, "RATE_LIMIT", "slow down", recoverable=True, metadata={"a": 1}
            )
            eq(failure.error_code, "RATE_LIMIT", "error_code")
            eq(failure.error_message, "slow down", "error_message")
        else:
            failure = cli.record_failure(
                ctx.retried.id,
                2,
                error_code="TIMEOUT",
                error_message="t/o",
                retry_scheduled_at=datetime.utcnow() + timedelta(seconds=5),
                metadata={"a": 1},
            )
            eq(failure.attempt_number, 2, "attempt_number")
            eq(failure.error_code, "TIMEOUT", "error_code")
            eq(failure.error_message, "t/o", "error_message")
        eq(failure.intent_id, ctx.retried.id, "intent_id")
        check(failure.id, "id")
        ctx.failure = failure

    with step(key("get_failures")):
        failures = await resolve(cli.get_failures(ctx.retried.id))
        eq(ids(failures), [ctx.failure.id], "failures")
        eq(failures[0].error_code, ctx.failure.error_code, "error_code round trip")

    # RFC-0011 access control -----------------------------------------------------
    with step(key("get_acl")):
        guarded = await resolve(cli.create_intent(f"{label} acl", ""))
        ctx.guarded = guarded
        acl = await resolve(cli.get_acl(guarded.id))
        eq(acl.default_policy, AccessPolicy.OPEN, "default policy")
        eq(acl.entries, [], "no entries")
        await raises(NotFoundError, lambda: cli.get_acl(str(uuid.uuid4())), "unknown intent")

    with step(key("set_acl")):
        entries = [
            {"principal_id": "p1", "permission": "admin", "granted_by": "boss"},
            {"principal_id": "p2"},
        ]
        acl = await resolve(cli.set_acl(ctx.guarded.id, AccessPolicy.OPEN, entries))
        eq(acl.default_policy, AccessPolicy.OPEN, "policy")
        by_principal = {e.principal_id: e for e in acl.entries}
        eq(sorted(by_principal), ["p1", "p2"], "entries")
        eq(by_principal["p1"].permission, Permission.ADMIN, "p1 permission")
        eq(by_principal["p2"].permission, Permission.READ, "p2 default permission")
        eq(len((await resolve(cli.get_acl(ctx.guarded.id))).entries), 2, "stored")

    with step(key("grant_access")):
        expires = datetime(2030, 1, 1)
        entry = await resolve(
            cli.grant_access(
                ctx.guarded.id,
                "agent-b",
                "agent",
                Permission.WRITE,
                reason="help",
                expires_at=expires,
            )
        )
        eq(entry.principal_id, "agent-b", "principal_id")
        eq(entry.permission, Permission.WRITE, "permission")
        eq(entry.reason, "help", "reason")
        eq(entry.expires_at, expires, "expires_at")
        check(entry.id, "id")
        acl = await resolve(cli.get_acl(ctx.guarded.id))
        check(entry.id in [e.id for e in acl.entries], "listed in the ACL")
        ctx.entry = entry

    with step(key("revoke_access")):
        eq(await resolve(cli.revoke_access(ctx.guarded.id, ctx.entry.id)), None, "None")
        acl = await resolve(cli.get_acl(ctx.guarded.id))
        check(ctx.entry.id not in [e.id for e in acl.entries], "entry removed")
        await raises(
            NotFoundError, lambda: cli.revoke_access(ctx.guarded.id, ctx.entry.id), "twice"
        )

    with step(key("request_access")):
        req = await resolve(
            cli.request_access(
                ctx.guarded.id,
                "agent-z",
                permission=Permission.WRITE,
                reason="need",
                capabilities=["ocr"],
            )
        )
        eq(req.principal_id, "agent-z", "principal_id")
        eq(req.requested_permission, Permission.WRITE, "requested_permission")
        eq(req.status, AccessRequestStatus.PENDING, "status")
        eq(req.capabilities, ["ocr"], "capabilities")
        eq(req.reason, "need", "reason")
        second_req = await resolve(cli.request_access(ctx.guarded.id, "agent-y"))
        ctx.req, ctx.req2 = req, second_req

    with step(key("list_access_requests")):
        listed_reqs = await resolve(cli.list_access_requests(ctx.guarded.id))
        eq(ids(listed_reqs), [ctx.req.id, ctx.req2.id], "requests in insertion order")

    with step(key("approve_access_request")):
        approved_req = await resolve(
            cli.approve_access_request(
                ctx.guarded.id,
                ctx.req.id,
                permission=Permission.READ,
                expires_at=datetime(2031, 1, 1),
                reason="ok",
            )
        )
        eq(approved_req.status, AccessRequestStatus.APPROVED, "status")
        eq(approved_req.decided_by, agent, "decided_by")
        acl = await resolve(cli.get_acl(ctx.guarded.id))
        grant = [e for e in acl.entries if e.principal_id == "agent-z"]
        eq(len(grant), 1, "approval created one grant")
        eq(grant[0].permission, Permission.READ, "granted permission")
        await raises(
            NotFoundError,
            lambda: cli.approve_access_request(ctx.guarded.id, ctx.req.id),
            "deciding twice",
        )

    with step(key("deny_access_request")):
        denied_req = await resolve(
            cli.deny_access_request(ctx.guarded.id, ctx.req2.id, reason="no")
        )
        eq(denied_req.status, AccessRequestStatus.DENIED, "status")
        statuses = {r.id: r.status for r in await resolve(cli.list_access_requests(ctx.guarded.id))}
        eq(statuses[ctx.req2.id], AccessRequestStatus.DENIED, "stored status")


async def _llm_events(cli: Any, key: Callable[[str], str], ctx: Ctx) -> Any:
    llm = None
    with step(key("log_tool_call_started")):
        llm = await resolve(cli.create_intent("llm observability", ""))
        ev = await resolve(
            cli.log_tool_call_started(
                llm.id,
                "search",
                "call_1",
                {"q": "x"},
                provider="openai",
                model="gpt",
                parent_request_id="req-1",
            )
        )
        eq(ev.event_type, EventType.TOOL_CALL_STARTED, "event_type")
        eq(ev.payload.get("arguments"), {"q": "x"}, "arguments")
        eq(ev.payload.get("parent_request_id"), "req-1", "parent_request_id")
    if llm is None:
        return ctx.llm_intent  # blocked: later steps report it
    calls: list[tuple[str, Callable[[], Any], EventType, dict[str, Any]]] = [
        (
            "log_tool_call_completed",
            lambda: cli.log_tool_call_completed(
                llm.id, "search", "call_1", {"q": "x"}, {"hits": 1}, duration_ms=12
            ),
            EventType.TOOL_CALL_COMPLETED,
            {"result": {"hits": 1}, "duration_ms": 12},
        ),
        (
            "log_tool_call_failed",
            lambda: cli.log_tool_call_failed(llm.id, "search", "call_2", {}, "boom"),
            EventType.TOOL_CALL_FAILED,
            {"error": "boom", "tool_id": "call_2"},
        ),
        (
            "log_llm_request_started",
            lambda: cli.log_llm_request_started(
                llm.id,
                "req-1",
                "openai",
                "gpt",
                3,
                tools_available=["search"],
                stream=True,
                temperature=0.2,
                max_tokens=50,
            ),
            EventType.LLM_REQUEST_STARTED,
            {"stream": True, "tools_available": ["search"], "temperature": 0.2},
        ),
        (
            "log_llm_request_completed",
            lambda: cli.log_llm_request_completed(
                llm.id,
                "req-1",
                "openai",
                "gpt",
                3,
                response_content="hi",
                finish_reason="stop",
                prompt_tokens=10,
                completion_tokens=2,
                total_tokens=12,
                duration_ms=340,
            ),
            EventType.LLM_REQUEST_COMPLETED,
            {"response_content": "hi", "total_tokens": 12, "stream": False},
        ),
        (
            "log_llm_request_failed",
            lambda: cli.log_llm_request_failed(llm.id, "req-2", "openai", "gpt", 1, "rate"),
            EventType.LLM_REQUEST_FAILED,
            {"error": "rate", "request_id": "req-2"},
        ),
        (
            "start_stream",
            lambda: cli.start_stream(llm.id, "s-1", "openai", "gpt"),
            EventType.STREAM_STARTED,
            {"stream_id": "s-1", "status": "active", "chunks_received": 0},
        ),
        (
            "log_stream_chunk",
            lambda: cli.log_stream_chunk(llm.id, "s-1", 0, token_count=3),
            EventType.STREAM_CHUNK,
            {"stream_id": "s-1", "chunk_index": 0, "token_count": 3},
        ),
        (
            "complete_stream",
            lambda: cli.complete_stream(llm.id, "s-1", "openai", "gpt", 1, 3),
            EventType.STREAM_COMPLETED,
            {"status": "completed", "chunks_received": 1, "tokens_streamed": 3},
        ),
        (
            "cancel_stream",
            lambda: cli.cancel_stream(llm.id, "s-2", "openai", "gpt", reason="user"),
            EventType.STREAM_CANCELLED,
            {"status": "cancelled", "cancel_reason": "user"},
        ),
    ]
    for method, call, event_type, subset in calls:
        with step(key(method)):
            ev = await resolve(call())
            eq(ev.event_type, event_type, "event_type")
            eq(ev.intent_id, llm.id, "intent_id")
            eq({k: ev.payload.get(k) for k in subset}, subset, "payload")
    return llm
