"""RFC-0011 over HTTP: ACLs and access requests (reference shapes and events), and their
enforcement, which the reference lacks: with a ``closed`` policy only the creator and
principals holding a sufficient grant may read or write the intent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

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


def events(client: Any, iid: str, event_type: str) -> list[dict[str, Any]]:
    log = client.get(f"{API}/{iid}/events").json()
    return [e for e in reversed(log) if e["event_type"] == event_type]


def stored(client: Any, iid: str) -> list[tuple[str, dict[str, Any]]]:
    db = client.app.state.db
    messages = client.blocking_portal.call(db.stream_after, [channels.intent(iid)], 0)
    return [(m.name, json.loads(m.data)) for m in messages]


def grant(client: Any, iid: str, principal: str, permission: str, **body: Any) -> dict[str, Any]:
    r = client.post(
        f"{API}/{iid}/acl/entries",
        json={"principal_id": principal, "permission": permission, **body},
    )
    assert r.status_code == 200, r.text
    return r.json()


def closed(client: Any, **body: Any) -> dict[str, Any]:
    """A new intent (created with the dev key) whose ACL is closed with no grants."""
    intent = create(client, **body)
    r = client.put(f"{API}/{intent['id']}/acl", json={"default_policy": "closed"})
    assert r.status_code == 200, r.text
    return intent


def denied(r: Any, permission: str) -> None:
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "access_denied"
    assert detail["required_permission"] == permission


def patch(client: Any, iid: str, version: int, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        f"{API}/{iid}/state",
        json={"state": {"k": version}},
        headers={"If-Match": str(version), **(headers or {})},
    )


# -- ACL endpoints ------------------------------------------------------------------------


def test_acl_starts_open_and_empty(client: Any) -> None:
    iid = create(client)["id"]
    assert client.get(f"{API}/{iid}/acl").json() == {
        "intent_id": iid,
        "default_policy": "open",
        "entries": [],
    }
    assert client.get(f"{API}/nope/acl").json()["detail"] == "Intent not found"


def test_grant_entry_shape_event_and_stream(client: Any) -> None:
    iid = create(client)["id"]
    entry = grant(
        client,
        iid,
        "agent-b",
        "write",
        principal_type="agent",
        reason="help",
        expires_at="2030-01-01T00:00:00",
    )
    assert set(entry) >= {
        "id",
        "intent_id",
        "principal_id",
        "principal_type",
        "permission",
        "granted_by",
        "granted_at",
        "expires_at",
        "reason",
    }
    assert entry["granted_by"] == DEV_KEY
    assert entry["expires_at"] == "2030-01-01T00:00:00"
    assert entry["intent_id"] == iid
    assert entry["reason"] == "help"
    (event,) = events(client, iid, "access_granted")
    assert event["actor"] == DEV_KEY
    assert event["payload"] == {"principal_id": "agent-b", "permission": "write"}
    assert stored(client, iid)[-1] == (
        "access_granted",
        {"principal_id": "agent-b", "permission": "write"},
    )
    defaults = grant(client, iid, "agent-c", "read")
    assert defaults["principal_type"] == "agent"
    assert defaults["expires_at"] is None
    assert defaults["reason"] is None
    assert [e["id"] for e in client.get(f"{API}/{iid}/acl").json()["entries"]] == [
        entry["id"],
        defaults["id"],
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"principal_id": 5},
        {"principal_id": "p", "permission": "owner"},
        {"principal_id": "p", "expires_at": "tomorrow"},
        {"principal_id": "p\x00"},
    ],
)
def test_bad_grants_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = create(client)["id"]
    r = client.post(f"{API}/{iid}/acl/entries", json=body)
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/{iid}/acl").json()["entries"] == []
    assert events(client, iid, "access_granted") == []


def test_grant_on_unknown_intent_is_404(client: Any) -> None:
    r = client.post(f"{API}/nope/acl/entries", json={"principal_id": "p"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"


def test_put_acl_replaces_everything(client: Any) -> None:
    iid = create(client)["id"]
    old = grant(client, iid, "old", "read")
    r = client.put(
        f"{API}/{iid}/acl",
        json={
            "default_policy": "closed",
            "entries": [
                {"principal_id": "p1", "permission": "admin", "granted_by": "boss"},
                {"principal_id": "p2"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    acl = r.json()
    assert acl["default_policy"] == "closed"
    assert [(e["principal_id"], e["permission"], e["granted_by"]) for e in acl["entries"]] == [
        ("p1", "admin", "boss"),
        ("p2", "read", "system"),
    ]
    assert old["id"] not in {e["id"] for e in acl["entries"]}
    assert client.get(f"{API}/{iid}/acl").json() == acl
    (_, replaced) = events(client, iid, "access_granted")
    assert replaced["payload"] == {"action": "acl_set", "default_policy": "closed"}
    assert [name for name, _ in stored(client, iid)].count(
        "access_granted"
    ) == 1  # PUT is not streamed
    reset = client.put(f"{API}/{iid}/acl", json={}).json()
    assert reset == {"intent_id": iid, "default_policy": "open", "entries": []}


@pytest.mark.parametrize(
    "body",
    [
        {"entries": [{"permission": "read"}]},  # the reference answers 500 here
        {"entries": [{"principal_id": "p", "expires_at": "not a date"}]},
        {"default_policy": "private"},
        {"entries": {"principal_id": "p"}},
    ],
)
def test_bad_acl_replacements_are_422_and_change_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = create(client)["id"]
    grant(client, iid, "keep", "read")
    r = client.put(f"{API}/{iid}/acl", json=body)
    assert r.status_code == 422, r.text
    acl = client.get(f"{API}/{iid}/acl").json()
    assert acl["default_policy"] == "open"
    assert [e["principal_id"] for e in acl["entries"]] == ["keep"]
    assert client.put(f"{API}/nope/acl", json={}).status_code == 404


def test_revoke_entry(client: Any) -> None:
    iid, other = create(client)["id"], create(client)["id"]
    entry = grant(client, iid, "agent-b", "write")
    assert (
        client.delete(f"{API}/{other}/acl/entries/{entry['id']}").json()["detail"]
        == "ACL entry not found"
    )
    r = client.delete(f"{API}/{iid}/acl/entries/{entry['id']}")
    assert r.status_code == 204
    assert r.content == b""
    assert client.get(f"{API}/{iid}/acl").json()["entries"] == []
    (event,) = events(client, iid, "access_revoked")
    assert event["payload"] == {"entry_id": entry["id"], "principal_id": "agent-b"}
    assert stored(client, iid)[-1] == (
        "access_revoked",
        {"entry_id": entry["id"], "principal_id": "agent-b"},
    )
    again = client.delete(f"{API}/{iid}/acl/entries/{entry['id']}")
    assert again.status_code == 404
    assert again.json()["detail"] == "ACL entry not found"


# -- access requests ----------------------------------------------------------------------


def request_access(client: Any, iid: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/{iid}/access-requests", json={"principal_id": "agent-z", **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_access_request_create_and_list(client: Any) -> None:
    iid = create(client)["id"]
    made = request_access(
        client,
        iid,
        principal_type="agent",
        requested_permission="write",
        reason="need",
        capabilities=["ocr"],
    )
    assert made["status"] == "pending"
    assert made["capabilities"] == ["ocr"]
    for key in ("decided_by", "decided_at", "decision_reason"):
        assert made[key] is None
    (event,) = events(client, iid, "access_requested")
    assert event["actor"] == "agent-z"
    assert event["payload"] == {
        "request_id": made["id"],
        "requested_permission": "write",
        "capabilities": ["ocr"],
    }
    assert stored(client, iid)[-1] == (
        "access_requested",
        {"request_id": made["id"], "principal_id": "agent-z", "requested_permission": "write"},
    )
    defaults = request_access(client, iid)
    assert (defaults["requested_permission"], defaults["reason"], defaults["capabilities"]) == (
        "write",
        "",
        [],
    )
    listed = client.get(f"{API}/{iid}/access-requests").json()
    assert [r["id"] for r in listed["access_requests"]] == [made["id"], defaults["id"]]
    assert client.get(f"{API}/nope/access-requests").status_code == 404
    assert client.post(f"{API}/nope/access-requests", json={"principal_id": "z"}).status_code == 404
    for bad in (
        {},
        {"principal_id": "z", "requested_permission": "owner"},
        {"principal_id": "z", "capabilities": "ocr"},
    ):
        assert client.post(f"{API}/{iid}/access-requests", json=bad).status_code == 422
    assert len(client.get(f"{API}/{iid}/access-requests").json()["access_requests"]) == 2


def test_approve_creates_one_grant_and_decides_once(client: Any) -> None:
    iid = create(client)["id"]
    made = request_access(client, iid, reason="need", capabilities=["ocr"])
    body = {
        "decided_by": "owner",
        "permission": "read",
        "expires_at": "2031-01-01T00:00:00",
        "reason": "ok",
    }
    r = client.post(f"{API}/{iid}/access-requests/{made['id']}/approve", json=body)
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["status"] == "approved"
    assert decided["decided_by"] == "owner"
    assert decided["decision_reason"] == "ok"
    assert decided["decided_at"]
    assert decided["requested_permission"] == "write"
    (entry,) = client.get(f"{API}/{iid}/acl").json()["entries"]
    assert (entry["principal_id"], entry["permission"], entry["granted_by"]) == (
        "agent-z",
        "read",
        "owner",
    )
    assert entry["expires_at"] == "2031-01-01T00:00:00"
    assert entry["reason"] == "Approved access request: ok"
    (event,) = events(client, iid, "access_request_approved")
    assert event["actor"] == "owner"
    assert event["payload"] == {
        "request_id": made["id"],
        "principal_id": "agent-z",
        "permission": "read",
    }
    assert events(client, iid, "access_granted") == []  # no separate grant event
    assert stored(client, iid)[-1] == (
        "access_request_approved",
        {"request_id": made["id"], "principal_id": "agent-z"},
    )
    for verb in ("approve", "deny"):
        again = client.post(
            f"{API}/{iid}/access-requests/{made['id']}/{verb}", json={"decided_by": "owner"}
        )
        assert again.status_code == 404
        assert again.json()["detail"] == "Access request not found or already decided"
    assert len(client.get(f"{API}/{iid}/acl").json()["entries"]) == 1


def test_deny_and_decision_fallbacks(client: Any) -> None:
    iid, other = create(client)["id"], create(client)["id"]
    made = request_access(client, iid)
    # The path intent must be the request's intent (the reference ignores it).
    wrong = client.post(f"{API}/{other}/access-requests/{made['id']}/deny", json={})
    assert wrong.status_code == 404
    r = client.post(
        f"{API}/{iid}/access-requests/{made['id']}/deny",
        json={},
        headers={"X-Agent-ID": "reviewer"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "denied"
    assert r.json()["decided_by"] == "reviewer"
    (event,) = events(client, iid, "access_request_denied")
    assert event["actor"] == "reviewer"
    assert event["payload"] == {"request_id": made["id"], "principal_id": "agent-z", "reason": None}
    assert all(name != "access_request_denied" for name, _ in stored(client, iid))
    assert client.get(f"{API}/{iid}/acl").json()["entries"] == []
    plain = request_access(client, iid)
    ok = client.post(f"{API}/{iid}/access-requests/{plain['id']}/approve", json={}).json()
    assert ok["decided_by"] == DEV_KEY
    (entry,) = client.get(f"{API}/{iid}/acl").json()["entries"]
    assert entry["permission"] == "write"
    assert entry["reason"] == "Approved access request:"
    bad = client.post(
        f"{API}/{iid}/access-requests/{plain['id']}/approve", json={"permission": "owner"}
    )
    assert bad.status_code == 422


def test_concurrent_decisions_one_winner(live_server: ServerProcess) -> None:
    async def run() -> tuple[list[int], int]:
        async with httpx.AsyncClient(
            base_url=live_server.base_url, headers={"X-API-Key": DEV_KEY}
        ) as c:
            iid = (await c.post(API, json={"title": "race"})).json()["id"]
            rid = (await c.post(f"{API}/{iid}/access-requests", json={"principal_id": "z"})).json()[
                "id"
            ]
            verbs = ["approve", "deny"] * 6
            codes = await asyncio.gather(
                *(
                    c.post(f"{API}/{iid}/access-requests/{rid}/{v}", json={"decided_by": "o"})
                    for v in verbs
                )
            )
            entries = (await c.get(f"{API}/{iid}/acl")).json()["entries"]
            return [r.status_code for r in codes], len(entries)

    codes, _ = asyncio.run(run())
    assert sorted(codes) == [200] + [404] * 11


# -- enforcement ----------------------------------------------------------------------------


def test_open_policy_restricts_nobody(client: Any) -> None:
    iid = create(client)["id"]
    grant(client, iid, "someone-else", "read")
    assert client.get(f"{API}/{iid}", headers=AS_OTHER).status_code == 200
    assert patch(client, iid, 1, AS_OTHER).status_code == 200


def test_closed_intent_refuses_strangers_and_stores_nothing(client: Any) -> None:
    intent = closed(client, state={"a": 1})
    iid = intent["id"]
    denied(client.get(f"{API}/{iid}", headers=AS_OTHER), "read")
    denied(client.get(f"{API}/{iid}/events", headers=AS_OTHER), "read")
    denied(client.get(f"{API}/{iid}/acl", headers=AS_OTHER), "read")
    denied(client.get(f"/api/v1/subscribe/intents/{iid}", headers=AS_OTHER), "read")
    denied(client.get(f"{API}/{iid}/subscribe", headers=AS_OTHER), "read")
    refused = patch(client, iid, 1, AS_OTHER)
    denied(refused, "write")
    assert "lease" not in refused.text.lower()
    denied(
        client.post(f"{API}/{iid}/events", json={"event_type": "comment"}, headers=AS_OTHER),
        "write",
    )
    denied(client.put(f"{API}/{iid}/acl", json={}, headers=AS_OTHER), "admin")
    denied(
        client.post(
            f"{API}/{iid}/acl/entries",
            json={"principal_id": OTHER, "permission": "admin"},
            headers=AS_OTHER,
        ),
        "admin",
    )
    after = client.get(f"{API}/{iid}").json()  # the creator keeps full access
    assert after["state"] == {"a": 1}
    assert after["version"] == 1
    assert [e["event_type"] for e in client.get(f"{API}/{iid}/events").json()] == [
        "access_granted",
        "intent_created",
    ]
    acl = client.get(f"{API}/{iid}/acl").json()
    assert acl["default_policy"] == "closed"
    assert acl["entries"] == []
    assert patch(client, iid, 1).status_code == 200


def test_refusal_in_the_write_transaction_without_the_route_guard(client: Any) -> None:
    """The write guard alone (as other areas' writes rely on) refuses and rolls back."""
    from openintent.models import StatePatchRequest
    from openintent.server.services.principal import Principal

    iid = closed(client)["id"]
    intents = client.app.state.services.get("intents")
    req = StatePatchRequest.from_dict({"state": {"x": 1}})
    with pytest.raises(Exception, match="restricted") as info:
        client.blocking_portal.call(intents.patch_state_json, Principal(OTHER), iid, 1, req)
    assert getattr(info.value, "status_code", None) == 403
    assert client.get(f"{API}/{iid}").json()["version"] == 1


def test_levels_read_write_admin(client: Any) -> None:
    iid = closed(client)["id"]
    entry = grant(client, iid, OTHER, "read")
    assert client.get(f"{API}/{iid}", headers=AS_OTHER).status_code == 200
    assert client.get(f"{API}/{iid}/acl", headers=AS_OTHER).status_code == 200
    denied(patch(client, iid, 1, AS_OTHER), "write")
    client.delete(f"{API}/{iid}/acl/entries/{entry['id']}")
    grant(client, iid, OTHER, "write")
    assert patch(client, iid, 1, AS_OTHER).status_code == 200
    as_other = {"If-Match": "2", **AS_OTHER}
    status = client.post(f"{API}/{iid}/status", json={"status": "active"}, headers=as_other)
    denied(status, "admin")  # RFC-0011: changing status is an admin capability
    denied(client.post(f"{API}/{iid}/agents", json={"agent_id": "x"}, headers=AS_OTHER), "admin")
    denied(client.put(f"{API}/{iid}/governance", json={}, headers=as_other), "admin")
    assert client.get(f"{API}/{iid}", headers=AS_OTHER).json()["status"] == "draft"
    grant(client, iid, OTHER, "admin")
    assert (
        client.post(f"{API}/{iid}/status", json={"status": "active"}, headers=as_other).status_code
        == 200
    )
    assert (
        client.post(
            f"{API}/{iid}/acl/entries", json={"principal_id": "p"}, headers=AS_OTHER
        ).status_code
        == 200
    )


def test_grants_match_the_agent_header_and_expire(client: Any) -> None:
    iid = closed(client)["id"]
    grant(client, iid, "agent-b", "write")
    as_agent = {**AS_OTHER, "X-Agent-ID": "agent-b"}
    assert patch(client, iid, 1, as_agent).status_code == 200
    denied(patch(client, iid, 2, AS_OTHER), "write")
    grant(client, iid, "agent-old", "admin", expires_at="2001-01-01T00:00:00")
    denied(client.get(f"{API}/{iid}", headers={**AS_OTHER, "X-Agent-ID": "agent-old"}), "read")


def test_creator_named_in_created_by_keeps_admin(client: Any) -> None:
    intent = closed(client, created_by="alice")
    iid = intent["id"]
    assert (
        client.get(f"{API}/{iid}", headers={**AS_OTHER, "X-Agent-ID": "alice"}).status_code == 200
    )
    r = client.put(
        f"{API}/{iid}/acl",
        json={"default_policy": "closed"},
        headers={**AS_OTHER, "X-Agent-ID": "alice"},
    )
    assert r.status_code == 200


def test_stranger_may_ask_and_an_owner_decides(client: Any) -> None:
    iid = closed(client)["id"]
    asked = client.post(
        f"{API}/{iid}/access-requests",
        json={"principal_id": OTHER, "requested_permission": "read"},
        headers=AS_OTHER,
    )
    assert asked.status_code == 200, asked.text
    rid = asked.json()["id"]
    denied(client.get(f"{API}/{iid}/access-requests", headers=AS_OTHER), "read")
    denied(
        client.post(f"{API}/{iid}/access-requests/{rid}/approve", json={}, headers=AS_OTHER),
        "admin",
    )
    assert (
        client.get(f"{API}/{iid}/access-requests").json()["access_requests"][0]["status"]
        == "pending"
    )
    assert client.post(f"{API}/{iid}/access-requests/{rid}/approve", json={}).status_code == 200
    assert client.get(f"{API}/{iid}", headers=AS_OTHER).status_code == 200
    denied(patch(client, iid, 1, AS_OTHER), "write")


def test_governance_objects_of_closed_intents(client: Any) -> None:
    iid = closed(client)["id"]
    esc = client.post(f"{API}/{iid}/escalations", json={"reason": "r"}).json()
    open_iid = create(client)["id"]
    client.post(f"{API}/{open_iid}/escalations", json={"reason": "r"})
    mine = client.get("/api/v1/escalations").json()["escalations"]
    theirs = client.get("/api/v1/escalations", headers=AS_OTHER).json()["escalations"]
    assert len(mine) == 2
    assert [e["intent_id"] for e in theirs] == [open_iid]
    resolve = client.post(
        f"/api/v1/escalations/{esc['id']}/resolve", json={"resolution": "x"}, headers=AS_OTHER
    )
    denied(resolve, "write")
    assert (
        client.get("/api/v1/escalations", params={"status": "resolved"}).json()["escalations"] == []
    )
    aid = client.post(f"{API}/{iid}/approvals", json={"action": "complete"}).json()["id"]
    denied(client.post(f"{API}/{iid}/approvals/{aid}/approve", headers=AS_OTHER), "admin")
    denied(client.get(f"{API}/{iid}/approvals/{aid}", headers=AS_OTHER), "read")
    denied(client.post(f"{API}/{iid}/arbitrate", json={"reason": "r"}, headers=AS_OTHER), "write")


def test_readable_clause_for_paged_listings(client: Any) -> None:
    """The SQL filter a listing of intents uses: open ones, own ones, granted ones."""
    from openintent.server.services.principal import Principal
    from openintent.server.store.tables import IntentRow

    open_iid = create(client)["id"]
    hidden = closed(client)["id"]
    shared = closed(client)["id"]
    grant(client, shared, "agent-b", "read")
    lapsed = closed(client)["id"]
    grant(client, lapsed, OTHER, "admin", expires_at="2001-01-01T00:00:00")
    mine = create(client, created_by="agent-b")["id"]
    client.put(f"{API}/{mine}/acl", json={"default_policy": "closed"})
    access = client.app.state.services.get("access")

    async def visible(principal: Principal) -> set[str]:
        rows = await IntentRow.select(IntentRow.id).where(access.readable_clause(principal))
        return {row["id"] for row in rows}

    as_agent = client.blocking_portal.call(visible, Principal(OTHER, agent_id="agent-b"))
    assert as_agent == {open_iid, shared, mine}
    assert client.blocking_portal.call(visible, Principal(OTHER)) == {open_iid}
    everything = {open_iid, hidden, shared, lapsed, mine}
    assert client.blocking_portal.call(visible, Principal(DEV_KEY)) == everything - {mine}
