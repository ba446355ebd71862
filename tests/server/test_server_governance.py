"""RFC-0004/0013 over HTTP: arbitration, decisions, escalations, approvals, the governance
policy, and its enforcement on state, status, assignment and cost writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from openintent.models import DecisionRecord, DecisionType
from openintent.server import channels
from openintent.server.testing import DEV_KEY, ServerProcess

API = "/api/v1/intents"
OTHER = "agent-research-key"
AS_OTHER = {"X-API-Key": OTHER}


# -- helpers ---------------------------------------------------------------------------


def create(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post(API, json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return r.json()


def events(client: Any, iid: str) -> list[dict[str, Any]]:
    """The intent's log, oldest first, after pending violation events are written."""
    client.blocking_portal.call(client.app.state.services.get("governance").drain)
    r = client.get(f"{API}/{iid}/events")
    assert r.status_code == 200, r.text
    return list(reversed(r.json()))


def of_type(client: Any, iid: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in events(client, iid) if e["event_type"] == event_type]


def stored(client: Any, channel: str) -> list[tuple[str, dict[str, Any]]]:
    messages = client.blocking_portal.call(client.app.state.db.stream_after, [channel], 0)
    return [(m.name, json.loads(m.data)) for m in messages]


def set_policy(client: Any, iid: str, policy: Any, version: int, **kw: Any) -> Any:
    return client.put(
        f"{API}/{iid}/governance", json=policy, headers={"If-Match": str(version)}, **kw
    )


def governed(client: Any, policy: dict[str, Any]) -> dict[str, Any]:
    """A new intent carrying ``policy`` (set through PUT, so version 2)."""
    intent = create(client)
    r = set_policy(client, intent["id"], policy, 1)
    assert r.status_code == 200, r.text
    return r.json()


def status(client: Any, intent: dict[str, Any], value: str, **kw: Any) -> Any:
    headers = {"If-Match": str(intent["version"]), **kw.pop("headers", {})}
    return client.post(
        f"{API}/{intent['id']}/status", json={"status": value, **kw}, headers=headers
    )


def approval(client: Any, iid: str, action: str = "complete", **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/{iid}/approvals", json={"action": action, **body})
    assert r.status_code == 200, r.text
    return r.json()


def violation(r: Any, rule: str) -> dict[str, Any]:
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "governance_violation"
    assert detail["rule"] == rule
    return dict(detail)


# -- arbitration and RFC-0003 decisions -------------------------------------------------


def test_arbitration_accepts_the_reference_client_body_and_returns_its_keys(client: Any) -> None:
    iid = create(client)["id"]
    r = client.post(f"{API}/{iid}/arbitrate", json={"reason": "stuck", "context": {"k": 1}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Arbitration requested"
    assert body["status"] == "pending"
    for key in ("id", "intent_id", "requester_id", "reason", "status", "created_at"):
        assert key in body
    assert body["intent_id"] == iid
    assert body["requester_id"] == DEV_KEY
    assert body["context"] == {"k": 1}
    (event,) = of_type(client, iid, "arbitration_requested")
    assert event["id"] == body["id"]
    assert event["actor"] == DEV_KEY
    assert event["payload"] == {"reason": "stuck", "context": {"k": 1}}


def test_arbitration_actor_falls_back_to_agent_header_and_honours_requested_by(client: Any) -> None:
    iid = create(client)["id"]
    by_header = client.post(
        f"{API}/{iid}/arbitrate", json={"reason": "r"}, headers={"X-Agent-ID": "bot"}
    )
    assert by_header.json()["requester_id"] == "bot"
    by_body = client.post(f"{API}/{iid}/arbitrate", json={"reason": "r", "requested_by": "alice"})
    assert by_body.json()["requester_id"] == "alice"
    assert [e["actor"] for e in of_type(client, iid, "arbitration_requested")] == ["bot", "alice"]


@pytest.mark.parametrize("path", ["arbitrate", "decisions"])
def test_arbitration_and_decision_errors(client: Any, path: str) -> None:
    body = {"reason": "r"} if path == "arbitrate" else {"decision_type": "d", "outcome": "o"}
    assert client.post(f"{API}/nope/{path}", json=body).status_code == 404
    assert client.post(f"{API}/nope/{path}", json={}).status_code == 422  # 422 before 404
    iid = create(client)["id"]
    bad = client.post(f"{API}/{iid}/{path}", json={**body, "context": 5, "outcome": 7})
    assert bad.status_code == 422
    assert isinstance(bad.json()["detail"], list)
    nul = client.post(
        f"{API}/{iid}/{path}", json={**body, "requested_by": "a\x00", "decided_by": "a\x00"}
    )
    assert nul.status_code == 422
    assert (
        of_type(client, iid, "arbitration_requested") + of_type(client, iid, "decision_recorded")
        == []
    )


def test_decision_accepts_reasoning_and_returns_both_shapes(client: Any) -> None:
    iid = create(client)["id"]
    r = client.post(
        f"{API}/{iid}/decisions",
        json={"decision_type": "approve_plan", "outcome": "go", "reasoning": "fine"},
        headers={"X-Agent-ID": "judge"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Decision recorded"
    assert body["decision_id"] == body["id"]
    assert body["outcome"] == "go"
    assert body["decision_maker_id"] == "judge"
    assert body["reasoning"] == body["rationale"] == "fine"
    for key in ("intent_id", "decision_type", "created_at"):
        assert key in body
    (event,) = of_type(client, iid, "decision_recorded")
    assert event["id"] == body["id"]
    assert event["actor"] == "judge"
    assert event["payload"] == {
        "decision_type": "approve_plan",
        "outcome": "go",
        "rationale": "fine",
    }
    server_body = client.post(
        f"{API}/{iid}/decisions",
        json={"decision_type": "t", "decided_by": "boss", "outcome": "o", "rationale": "x"},
    ).json()
    assert server_body["decision_maker_id"] == "boss"
    assert server_body["reasoning"] == "x"


def test_decision_records_are_listed_as_a_bare_array(client: Any) -> None:
    iid = create(client)["id"]
    assert client.get(f"{API}/{iid}/decisions").json() == []
    assert client.get(f"{API}/unknown/decisions").json() == []
    assert client.get(f"{API}/{iid}/decisions?limit=0").status_code == 422
    assert client.get(f"{API}/{iid}/decisions?limit={10**30}").status_code == 422
    asked: list[tuple[str, int]] = []

    async def source(intent_id: str, limit: int) -> list[DecisionRecord]:
        asked.append((intent_id, limit))
        return [
            DecisionRecord(
                id="d1",
                coordinator_id="c",
                intent_id=intent_id,
                decision_type=DecisionType.PLAN_CREATED,
                summary="s",
                rationale="r",
                timestamp=dt.datetime(2030, 1, 1),
            )
        ]

    client.app.state.services.get("governance").decision_source = source
    r = client.get(f"{API}/{iid}/decisions?limit=7")
    assert r.status_code == 200
    assert asked == [(iid, 7)]
    (record,) = r.json()
    assert record["id"] == "d1"
    assert record["decision_type"] == "plan_created"
    assert record["timestamp"] == "2030-01-01T00:00:00"


def test_decision_records_from_the_coordinators_area(client: Any) -> None:
    """End to end once the coordinators area stores records (``POST /api/v1/decisions``)."""
    iid = create(client)["id"]
    body = {
        "coordinator_id": "c",
        "intent_id": iid,
        "decision_type": "plan_created",
        "summary": "s",
        "rationale": "r",
    }
    first = client.post("/api/v1/decisions", json=body)
    if first.status_code in (404, 405):
        pytest.skip("the coordinators area does not serve POST /api/v1/decisions yet")
    assert first.status_code == 200, first.text
    second = client.post("/api/v1/decisions", json={**body, "summary": "s2"}).json()
    listed = client.get(f"{API}/{iid}/decisions").json()
    assert [r["id"] for r in listed] == [second["id"], first.json()["id"]]
    assert [r["id"] for r in client.get(f"{API}/{iid}/decisions?limit=1").json()] == [second["id"]]


# -- escalations --------------------------------------------------------------------------


def test_escalation_lifecycle_matches_the_reference_shapes(client: Any) -> None:
    iid = create(client)["id"]
    r = client.post(
        f"{API}/{iid}/escalations",
        json={
            "reason": "stuck",
            "priority": "high",
            "urgency": "low",
            "context": {"x": 1},
            "escalated_by": "agent-a",
        },
    )
    assert r.status_code == 200, r.text
    esc = r.json()
    assert set(esc) == {
        "id",
        "intent_id",
        "escalated_by",
        "reason",
        "priority",
        "urgency",
        "context",
        "status",
        "created_at",
    }
    assert (esc["escalated_by"], esc["priority"], esc["urgency"], esc["status"]) == (
        "agent-a",
        "high",
        "low",
        "pending",
    )
    (event,) = of_type(client, iid, "escalation_initiated")
    assert event["actor"] == "agent-a"
    assert event["payload"] == {"escalation_id": esc["id"], "reason": "stuck", "priority": "high"}

    r = client.post(
        f"/api/v1/escalations/{esc['id']}/resolve",
        json={"resolution": "fixed", "notes": "n", "resolved_by": "human"},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "resolved"
    assert done["resolution"] == "fixed"
    assert done["resolved_by"] == "human"
    assert done["resolution_notes"] == "n"
    assert done["resolved_at"]
    # Resolving again replaces the resolution; empty notes disappear from the object.
    again = client.post(
        f"/api/v1/escalations/{esc['id']}/resolve", json={"resolution": "other", "notes": None}
    ).json()
    assert again["resolution"] == "other"
    assert "resolution_notes" not in again
    assert again["resolved_by"] == DEV_KEY
    resolved = of_type(client, iid, "escalation_resolved")
    assert [(e["actor"], e["payload"]["resolution"]) for e in resolved] == [
        ("human", "fixed"),
        (DEV_KEY, "other"),
    ]


def test_escalation_defaults_and_errors(client: Any) -> None:
    iid = create(client)["id"]
    esc = client.post(
        f"{API}/{iid}/escalations", json={"reason": "r"}, headers={"X-Agent-ID": "bot"}
    ).json()
    assert (esc["priority"], esc["urgency"], esc["context"], esc["escalated_by"]) == (
        "medium",
        "medium",
        {},
        "bot",
    )
    assert (
        client.post(f"{API}/nope/escalations", json={"reason": "r"}).json()["detail"]
        == "Intent not found"
    )
    for body in (
        {},
        {"reason": 1},
        {"reason": "r", "context": []},
        {"reason": "r", "priority": "x\x00"},
    ):
        assert client.post(f"{API}/{iid}/escalations", json=body).status_code == 422
    r = client.post("/api/v1/escalations/nope/resolve", json={"resolution": "x"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Escalation not found"
    assert client.post(f"/api/v1/escalations/{esc['id']}/resolve", json={}).status_code == 422
    assert client.get(f"/api/v1/escalations/{esc['id']}").status_code in (404, 405)
    assert len(client.get("/api/v1/escalations").json()["escalations"]) == 1


def test_escalation_list_filters_and_orders_newest_first(client: Any) -> None:
    a, b = create(client)["id"], create(client)["id"]
    ids = [
        client.post(f"{API}/{i}/escalations", json={"reason": str(n)}).json()["id"]
        for n, i in enumerate([a, b, a])
    ]
    client.post(f"/api/v1/escalations/{ids[0]}/resolve", json={"resolution": "ok"})
    every = client.get("/api/v1/escalations").json()["escalations"]
    assert [e["id"] for e in every] == list(reversed(ids))
    only_a = client.get("/api/v1/escalations", params={"intent_id": a}).json()["escalations"]
    assert [e["id"] for e in only_a] == [ids[2], ids[0]]
    pending = client.get("/api/v1/escalations", params={"intent_id": a, "status": "pending"}).json()
    assert [e["id"] for e in pending["escalations"]] == [ids[2]]
    assert client.get("/api/v1/escalations", params={"status": "nope"}).json() == {
        "escalations": []
    }


# -- approval requests --------------------------------------------------------------------


def test_approval_lifecycle_and_409_on_a_decided_request(client: Any) -> None:
    iid = create(client)["id"]
    made = approval(client, iid, reason="done?", context={"k": 1}, requested_by="agent-a")
    assert set(made) == {
        "id",
        "intent_id",
        "requested_by",
        "action",
        "reason",
        "context",
        "status",
        "created_at",
    }
    assert made["status"] == "pending"
    assert made["requested_by"] == "agent-a"
    assert client.get(f"{API}/{iid}/approvals/{made['id']}").json() == made
    assert events(client, iid)[-1]["event_type"] == "intent_created"  # creating logs nothing

    r = client.post(
        f"{API}/{iid}/approvals/{made['id']}/approve", json={"ignored": True}, headers=AS_OTHER
    )
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved"
    assert approved["decided_by"] == OTHER
    assert approved["decided_at"]
    for verb in ("approve", "deny"):
        again = client.post(f"{API}/{iid}/approvals/{made['id']}/{verb}")
        assert again.status_code == 409
        assert again.json()["detail"] == f"Approval is already 'approved', cannot {verb}"
        assert "lease" not in again.text.lower()
    payload = {
        "approval_id": made["id"],
        "action": "complete",
        "decision": "approved",
        "requested_by": "agent-a",
    }
    (event,) = of_type(client, iid, "governance.approval_granted")
    assert event["actor"] == OTHER
    assert event["payload"] == payload
    assert stored(client, channels.intent(iid))[-1] == (
        "governance.approval_granted",
        {**payload, "decided_by": OTHER},
    )


def test_deny_and_approval_not_found_cases(client: Any) -> None:
    iid, other = create(client)["id"], create(client)["id"]
    made = approval(client, iid, action="deploy")
    denied = client.post(f"{API}/{iid}/approvals/{made['id']}/deny").json()
    assert denied["status"] == "denied"
    assert denied["decided_by"] == DEV_KEY
    (event,) = of_type(client, iid, "governance.approval_denied")
    assert event["payload"]["decision"] == "denied"
    for path in (f"{API}/{other}/approvals/{made['id']}", f"{API}/{iid}/approvals/nope"):
        assert client.get(path).json()["detail"] == "Approval request not found"
        for verb in ("approve", "deny"):
            r = client.post(f"{path}/{verb}")
            assert r.status_code == 404
            assert r.json()["detail"] == "Approval request not found"
    assert client.get(f"{API}/{iid}/approvals").status_code == 405
    assert (
        client.post(f"{API}/nope/approvals", json={"action": "complete"}).json()["detail"]
        == "Intent not found"
    )
    assert client.post(f"{API}/{iid}/approvals", json={"reason": "no action"}).status_code == 422


def test_concurrent_approvals_one_winner(live_server: ServerProcess) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(
            base_url=live_server.base_url, headers={"X-API-Key": DEV_KEY}
        ) as c:
            iid = (await c.post(API, json={"title": "race"})).json()["id"]
            aid = (await c.post(f"{API}/{iid}/approvals", json={"action": "complete"})).json()["id"]
            verbs = ["approve", "deny"] * 8
            codes = await asyncio.gather(
                *(c.post(f"{API}/{iid}/approvals/{aid}/{v}") for v in verbs)
            )
            log = (await c.get(f"{API}/{iid}/events")).json()
            decided = [e for e in log if e["event_type"].startswith("governance.approval_")]
            assert len(decided) == 1
            return [r.status_code for r in codes]

    assert sorted(asyncio.run(run())) == [200] + [409] * 15


# -- the policy ---------------------------------------------------------------------------


def test_policy_put_get_delete(client: Any) -> None:
    iid = create(client)["id"]
    empty = client.get(f"{API}/{iid}/governance").json()
    assert empty == {
        "intent_id": iid,
        "governance_policy": {},
        "effective_policy": {
            "completion_mode": "auto",
            "quorum_threshold": 0.6,
            "write_scope": "any",
            "allowed_agents": [],
            "max_cost": None,
            "require_status_reason": False,
        },
    }
    policy = {"completion_mode": "quorum", "quorum_threshold": 0.5, "custom": {"keep": [1]}}
    r = set_policy(client, iid, policy, 1)
    assert r.status_code == 200, r.text
    intent = r.json()
    assert intent["version"] == 2
    assert intent["governance_policy"] == policy
    assert "parent_id" in intent
    view = client.get(f"{API}/{iid}/governance").json()
    assert view["governance_policy"] == policy
    assert view["effective_policy"]["completion_mode"] == "quorum"
    assert view["effective_policy"]["quorum_threshold"] == 0.5
    # A PUT replaces the whole policy (no merge).
    replaced = set_policy(client, iid, {"max_cost": 3}, 2).json()
    assert replaced["governance_policy"] == {"max_cost": 3}
    assert replaced["version"] == 3
    removed = client.delete(f"{API}/{iid}/governance", headers={"If-Match": "3"})
    assert removed.status_code == 200
    assert removed.json()["governance_policy"] is None
    assert removed.json()["version"] == 4
    set_events = of_type(client, iid, "governance.policy_set")
    assert [e["payload"] for e in set_events] == [
        {"governance_policy": policy, "version": 2},
        {"governance_policy": {"max_cost": 3}, "version": 3},
    ]
    assert [e["payload"] for e in of_type(client, iid, "governance.policy_removed")] == [
        {"version": 4}
    ]
    assert [m for m in stored(client, channels.intent(iid)) if m[0].startswith("governance.")] == [
        ("governance.policy_set", {"governance_policy": policy, "version": 2}),
        ("governance.policy_set", {"governance_policy": {"max_cost": 3}, "version": 3}),
        ("governance.policy_removed", {"version": 4}),
    ]


@pytest.mark.parametrize(
    ("policy", "detail"),
    [
        (
            {"completion_mode": "bogus"},
            "Invalid completion_mode 'bogus'. Must be one of: {'auto', 'require_approval', 'quorum'}",
        ),
        (
            {"write_scope": "owners"},
            "Invalid write_scope 'owners'. Must be one of: {'any', 'assigned_only'}",
        ),
        (
            {"quorum_threshold": 0},
            "quorum_threshold must be a number between 0 (exclusive) and 1 (inclusive)",
        ),
        (
            {"quorum_threshold": 1.5},
            "quorum_threshold must be a number between 0 (exclusive) and 1 (inclusive)",
        ),
        (
            {"quorum_threshold": "0.5"},
            "quorum_threshold must be a number between 0 (exclusive) and 1 (inclusive)",
        ),
        ({"max_cost": -1}, "max_cost must be a non-negative number"),
        ({"max_cost": True}, "max_cost must be a non-negative number"),
        ({"allowed_agents": "bob"}, "allowed_agents must be a list of strings"),
        ({"require_status_reason": "yes"}, "require_status_reason must be a boolean"),
    ],
)
def test_policy_value_checks_are_422_with_a_string_detail(
    client: Any, policy: Any, detail: str
) -> None:
    iid = create(client)["id"]
    r = set_policy(client, iid, policy, 1)
    assert r.status_code == 422
    assert r.json()["detail"] == detail
    # The value check runs before the version check, and nothing is stored.
    assert set_policy(client, iid, policy, 9).status_code == 422
    intent = client.get(f"{API}/{iid}").json()
    assert intent["version"] == 1
    assert intent["governance_policy"] is None


def test_policy_check_order(client: Any) -> None:
    iid = create(client)["id"]
    no_header = client.put(f"{API}/{iid}/governance", json={})
    assert no_header.status_code == 400
    assert no_header.json()["detail"] == "If-Match header required"
    assert client.put(f"{API}/nope/governance", json={}).status_code == 400  # 400 before 404
    assert set_policy(client, "nope", {}, 1).json()["detail"] == "Intent not found"
    assert set_policy(client, iid, [1, 2], 1).status_code == 422  # body shape before If-Match
    assert client.put(f"{API}/{iid}/governance", json=[1]).status_code == 422
    conflict = set_policy(client, iid, {"completion_mode": "auto"}, 5)
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == "Version conflict"
    assert "lease" not in conflict.text.lower()
    assert client.delete(f"{API}/{iid}/governance").status_code == 400
    assert client.delete(f"{API}/nope/governance", headers={"If-Match": "1"}).status_code == 404
    assert client.delete(f"{API}/{iid}/governance", headers={"If-Match": "4"}).status_code == 409
    assert client.get(f"{API}/nope/governance").json()["detail"] == "Intent not found"
    assert client.get(f"{API}/{iid}").json()["version"] == 1


# -- enforcement --------------------------------------------------------------------------


def test_require_status_reason_refuses_without_a_violation_event(client: Any) -> None:
    intent = governed(client, {"require_status_reason": True})
    r = status(client, intent, "active")
    assert violation(r, "require_status_reason")["message"] == (
        "Governance policy requires a 'reason' field for all status transitions."
    )
    assert of_type(client, intent["id"], "governance.violation") == []
    assert status(client, intent, "active", reason="").status_code == 403
    ok = status(client, intent, "active", reason="go")
    assert ok.status_code == 200
    assert ok.json()["status"] == "active"


def test_require_approval_gates_completion(client: Any) -> None:
    intent = governed(client, {"completion_mode": "require_approval"})
    iid = intent["id"]
    refused = status(client, intent, "completed", reason="done")
    assert violation(refused, "completion_mode")["mode"] == "require_approval"
    stored_intent = client.get(f"{API}/{iid}").json()
    assert stored_intent["status"] == "draft"
    assert stored_intent["version"] == intent["version"]
    (event,) = of_type(client, iid, "governance.violation")
    assert event["actor"] == DEV_KEY
    assert event["payload"]["rule"] == "completion_mode"
    assert event["payload"]["detail"] == refused.json()["detail"]["message"]
    # An approved approval for another action, or a denied one, does not count.
    other = approval(client, iid, action="deploy")
    client.post(f"{API}/{iid}/approvals/{other['id']}/approve")
    denied = approval(client, iid)
    client.post(f"{API}/{iid}/approvals/{denied['id']}/deny")
    assert status(client, intent, "completed").status_code == 403
    good = approval(client, iid)
    client.post(f"{API}/{iid}/approvals/{good['id']}/approve")
    assert status(client, intent, "active").status_code == 200  # other targets are not gated
    intent = client.get(f"{API}/{iid}").json()
    assert status(client, intent, "completed").status_code == 200


def test_governance_refusal_wins_over_a_stale_version(client: Any) -> None:
    intent = governed(client, {"completion_mode": "require_approval"})
    r = client.post(
        f"{API}/{intent['id']}/status", json={"status": "completed"}, headers={"If-Match": "99"}
    )
    violation(r, "completion_mode")
    assert len(of_type(client, intent["id"], "governance.violation")) == 1


def test_quorum_counts_assignment_rows_and_approved_requests(client: Any) -> None:
    intent = governed(client, {"completion_mode": "quorum", "quorum_threshold": 0.5})
    iid = intent["id"]
    no_agents = status(client, intent, "completed")
    assert violation(no_agents, "completion_mode")["mode"] == "quorum"
    assert of_type(client, iid, "governance.violation") == []
    for agent in ("a", "b", "a"):  # duplicates count, as in the reference
        client.post(f"{API}/{iid}/agents", json={"agent_id": agent})
    r = status(client, intent, "completed")
    assert violation(r, "completion_mode")["message"] == (
        "Governance policy requires quorum approval. 0 of 1 required approvals received "
        "(threshold=0.5, 3 assigned agents)."
    )
    assert len(of_type(client, iid, "governance.violation")) == 1
    made = approval(client, iid)
    client.post(f"{API}/{iid}/approvals/{made['id']}/approve")
    assert status(client, intent, "completed").status_code == 200


def test_quorum_needs_floor_of_threshold_times_agents(client: Any) -> None:
    intent = governed(client, {"completion_mode": "quorum", "quorum_threshold": 0.5})
    iid = intent["id"]
    for agent in "abcd":
        client.post(f"{API}/{iid}/agents", json={"agent_id": agent})
    made = approval(client, iid)
    client.post(f"{API}/{iid}/approvals/{made['id']}/approve")
    assert (
        "1 of 2 required approvals"
        in status(client, intent, "completed").json()["detail"]["message"]
    )
    second = approval(client, iid)
    client.post(f"{API}/{iid}/approvals/{second['id']}/approve")
    assert status(client, intent, "completed").status_code == 200


def test_write_scope_assigned_only(client: Any) -> None:
    intent = governed(client, {"write_scope": "assigned_only"})
    iid = intent["id"]
    headers = {"If-Match": str(intent["version"])}
    refused = client.post(f"{API}/{iid}/state", json={"state": {"x": 1}}, headers=headers)
    violation(refused, "write_scope")
    after = client.get(f"{API}/{iid}").json()
    assert after["state"] == {}
    assert after["version"] == intent["version"]
    assert [e["payload"]["rule"] for e in of_type(client, iid, "governance.violation")] == [
        "write_scope"
    ]
    assert of_type(client, iid, "state_patched") == []
    # The agent named in X-Agent-ID counts once it is assigned (the key would too).
    client.post(f"{API}/{iid}/agents", json={"agent_id": "worker-1"})
    as_worker = {**headers, "X-Agent-ID": "worker-1"}
    assert (
        client.post(f"{API}/{iid}/state", json={"state": {"x": 1}}, headers=as_worker).status_code
        == 200
    )
    client.post(f"{API}/{iid}/agents", json={"agent_id": DEV_KEY})
    assert (
        client.post(
            f"{API}/{iid}/state",
            json={"state": {"x": 2}},
            headers={"If-Match": str(intent["version"] + 1)},
        ).status_code
        == 200
    )


def test_allowed_agents_on_writes_and_on_assignment(client: Any) -> None:
    intent = governed(client, {"allowed_agents": ["bob"]})
    iid = intent["id"]
    headers = {"If-Match": str(intent["version"])}
    violation(
        client.post(f"{API}/{iid}/state", json={"state": {"x": 1}}, headers=headers),
        "allowed_agents",
    )
    violation(status(client, intent, "active"), "allowed_agents")
    ok = client.post(
        f"{API}/{iid}/state", json={"state": {"x": 1}}, headers={**headers, "X-Agent-ID": "bob"}
    )
    assert ok.status_code == 200
    refused = client.post(f"{API}/{iid}/agents", json={"agent_id": "mallory"})
    violation(refused, "allowed_agents")
    assert client.get(f"{API}/{iid}/agents").json() == []
    assert client.post(f"{API}/{iid}/agents", json={"agent_id": "bob"}).status_code == 200
    rules = [e["payload"]["rule"] for e in of_type(client, iid, "governance.violation")]
    assert rules == ["allowed_agents"] * 3
    # Events, approvals and escalations are not governed.
    assert client.post(f"{API}/{iid}/events", json={"event_type": "comment"}).status_code == 200
    assert client.post(f"{API}/{iid}/escalations", json={"reason": "r"}).status_code == 200


def test_max_cost_against_recorded_costs(client: Any) -> None:
    intent = governed(client, {"max_cost": 10})
    iid = intent["id"]

    def cost(amount: float) -> Any:
        body = {"agent_id": "a", "cost_type": "tokens", "amount": amount, "unit": "usd"}
        return client.post(f"{API}/{iid}/costs", json=body)

    assert cost(8).status_code == 200
    refused = cost(3)
    assert violation(refused, "max_cost")["message"] == (
        "Governance policy sets max_cost=10. Current total is 8.0; adding 3.0 would exceed the ceiling."
    )
    assert [c["amount"] for c in client.get(f"{API}/{iid}/costs").json()] == [8.0]
    assert cost(2).status_code == 200  # reaching the ceiling exactly is allowed
    (event,) = of_type(client, iid, "governance.violation")
    assert event["payload"]["rule"] == "max_cost"


def test_concurrent_costs_never_exceed_max_cost(live_server: ServerProcess) -> None:
    async def run() -> tuple[list[int], float]:
        async with httpx.AsyncClient(
            base_url=live_server.base_url, headers={"X-API-Key": DEV_KEY}
        ) as c:
            iid = (await c.post(API, json={"title": "budget"})).json()["id"]
            r = await c.put(
                f"{API}/{iid}/governance", json={"max_cost": 10}, headers={"If-Match": "1"}
            )
            assert r.status_code == 200, r.text
            body = {"agent_id": "a", "cost_type": "tokens", "amount": 1, "unit": "usd"}
            codes = await asyncio.gather(
                *(c.post(f"{API}/{iid}/costs", json=body) for _ in range(16))
            )
            costs = (await c.get(f"{API}/{iid}/costs")).json()
            return [r.status_code for r in codes], sum(x["amount"] for x in costs)

    codes, total = asyncio.run(run())
    assert sorted(codes) == [200] * 10 + [403] * 6
    assert total == 10.0


def test_max_cost_reads_the_total_through_the_pluggable_function(client: Any) -> None:
    """Without a total handed over by the caller, ``cost_total`` supplies it."""
    from openintent.server.services.guards import WriteAttempt
    from openintent.server.services.principal import Principal

    intent = governed(client, {"max_cost": 5})
    service = client.app.state.services.get("governance")
    body = {"agent_id": "a", "cost_type": "tokens", "amount": 1.5, "unit": "usd"}
    assert client.post(f"{API}/{intent['id']}/costs", json=body).status_code == 200
    assert client.blocking_portal.call(service.cost_total, intent["id"]) == 1.5

    async def total(intent_id: str) -> float:
        assert intent_id == intent["id"]
        return 4.5

    service.cost_total = total
    intents = client.app.state.services.get("intents")
    model = client.blocking_portal.call(intents.get, intent["id"])

    async def attempt(amount: float) -> None:
        await service.guard(
            WriteAttempt(Principal(DEV_KEY), model, "cost", extra={"amount": amount})
        )

    client.blocking_portal.call(attempt, 0.5)
    with pytest.raises(Exception, match="max_cost=5") as info:
        client.blocking_portal.call(attempt, 1.0)
    assert getattr(info.value, "status_code", None) == 403


def test_policy_stored_at_creation_is_enforced_leniently(client: Any) -> None:
    """Creation does not validate the policy (reference); a bad key must not break writes."""
    intent = create(
        client, governance_policy={"completion_mode": "bogus", "require_status_reason": True}
    )
    assert status(client, intent, "active").status_code == 403  # the valid key still applies
    assert status(client, intent, "active", reason="ok").status_code == 200
    view = client.get(f"{API}/{intent['id']}/governance").json()
    assert view["governance_policy"]["completion_mode"] == "bogus"
    assert view["effective_policy"]["completion_mode"] == "auto"


def test_removed_policy_no_longer_enforced(client: Any) -> None:
    intent = governed(client, {"completion_mode": "require_approval"})
    assert status(client, intent, "completed").status_code == 403
    client.delete(f"{API}/{intent['id']}/governance", headers={"If-Match": str(intent["version"])})
    intent = client.get(f"{API}/{intent['id']}").json()
    assert status(client, intent, "completed").status_code == 200


def test_nul_in_ids_and_filters_is_4xx_not_a_database_error(client: Any) -> None:
    iid = create(client)["id"]
    for path in (
        f"{API}/a%00/governance",
        f"{API}/a%00/decisions",
        f"{API}/{iid}/approvals/x%00",
        f"{API}/a%00/acl",
        f"{API}/a%00/access-requests",
    ):
        assert client.get(path).status_code == 404, path
    assert (
        client.post("/api/v1/escalations/a%00/resolve", json={"resolution": "x"}).status_code == 404
    )
    for query in ({"status": "\x00"}, {"intent_id": "a\x00"}):
        assert client.get("/api/v1/escalations", params=query).status_code == 422
