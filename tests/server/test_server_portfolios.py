"""RFC-0007 over HTTP: portfolios, memberships, aggregate status and portfolio streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess, SSEMessage, iter_sse

AUTH = {"X-API-Key": DEV_KEY}
P = "/api/v1/portfolios"


def intent(client: Any, **body: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def portfolio(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post(P, json={"name": "Trip", "created_by": "alice", **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def add(client: Any, pid: str, iid: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{P}/{pid}/intents", json={"intent_id": iid, **body})
    assert r.status_code == 200, r.text
    return dict(r.json())


def set_status(client: Any, iid: str, status: str) -> None:
    version = client.get(f"/api/v1/intents/{iid}").json()["version"]
    r = client.post(
        f"/api/v1/intents/{iid}/status", json={"status": status}, headers={"If-Match": str(version)}
    )
    assert r.status_code == 200, r.text


def test_create_has_reference_keys_and_client_extras(client: Any) -> None:
    body = portfolio(
        client,
        description=None,
        governance_policy={"require_all_completed": True},
        metadata={"m": 1},
    )
    assert body["name"] == "Trip"
    assert body["description"] == ""
    assert body["created_by"] == "alice"
    assert body["status"] == "active"
    assert body["governance_policy"] == {"require_all_completed": True}
    assert body["created_at"] == body["createdAt"]
    assert body["updated_at"] == body["updatedAt"]
    assert not body["created_at"].endswith("Z")
    assert body["metadata"] == {"m": 1}
    assert body["aggregate_status"] == {
        "total": 0,
        "by_status": {},
        "completion_percentage": 0,
        "status": "in_progress",
    }
    assert body["has_suspended_members"] is False
    assert body["suspended_member_count"] == 0
    assert client.get(f"{P}/{body['id']}").json() == body


def test_created_by_falls_back_to_agent_header_then_key(client: Any) -> None:
    assert client.post(P, json={"name": "a"}).json()["created_by"] == DEV_KEY
    r = client.post(P, json={"name": "b"}, headers={"X-Agent-ID": "coord"})
    assert r.json()["created_by"] == "coord"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": 5},
        {"name": ""},
        {"name": "x", "description": 3},
        {"name": "x", "governance_policy": []},
        {"name": "x", "metadata": "m"},
        {"name": "bad\u0000name"},
    ],
)
def test_bad_create_bodies_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    r = client.post(P, json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get(P).json() == []


def test_list_is_bare_array_in_creation_order_with_filter(client: Any) -> None:
    ids = [
        portfolio(client, name=n, created_by=who)["id"]
        for n, who in [("a", "alice"), ("b", "bob"), ("c", "alice")]
    ]
    assert [p["id"] for p in client.get(P).json()] == ids
    assert [p["id"] for p in client.get(P, params={"created_by": "alice"}).json()] == [
        ids[0],
        ids[2],
    ]
    assert client.get(P, params={"created_by": "nobody"}).json() == []


def test_get_and_status_errors(client: Any) -> None:
    r = client.get(f"{P}/nope")
    assert r.status_code == 404
    assert r.json()["detail"] == "Portfolio not found"
    r = client.patch(f"{P}/nope/status", json={"status": "completed"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Portfolio not found"
    # Body validation comes first, as in the reference.
    assert client.patch(f"{P}/nope/status", json={"status": "bogus"}).status_code == 422
    pid = portfolio(client)["id"]
    assert client.patch(f"{P}/{pid}/status", json={"status": "bogus"}).status_code == 422
    assert client.patch(f"{P}/{pid}/status", json={}).status_code == 422
    assert client.get(f"{P}/{pid}").json()["status"] == "active"
    r = client.patch(f"{P}/{pid}/status", json={"status": "completed"})
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
    assert r.json()["updated_at"] >= r.json()["created_at"]


def test_membership_response_and_error_order(client: Any) -> None:
    pid, iid = portfolio(client)["id"], intent(client)
    body = add(client, pid, iid, role="primary", priority=100)
    assert body["message"] == "Intent added to portfolio"
    assert body["id"] == body["membership_id"]
    assert (body["portfolio_id"], body["intent_id"], body["role"], body["priority"]) == (
        pid,
        iid,
        "primary",
        100,
    )
    assert "added_at" in body
    r = client.post(f"{P}/nope/intents", json={"intent_id": iid})
    assert r.status_code == 404
    assert r.json()["detail"] == "Portfolio not found"
    r = client.post(f"{P}/{pid}/intents", json={"intent_id": "nope"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    for bad in (
        {"intent_id": iid, "role": "boss"},
        {"intent_id": iid, "priority": "high"},
        {"intent_id": iid, "priority": 2**40},
        {"role": "member"},
    ):
        assert client.post(f"{P}/nope/intents", json=bad).status_code == 422, bad
        assert client.post(f"{P}/{pid}/intents", json=bad).status_code == 422, bad
    assert add(client, pid, iid)["role"] == "member"
    # Only the two valid adds were stored.
    assert client.get(f"{P}/{pid}").json()["aggregate_status"]["total"] == 1


def test_members_lists_and_duplicate_rows(client: Any) -> None:
    pid, a, b = portfolio(client)["id"], intent(client, title="a"), intent(client, title="b")
    other = portfolio(client, name="other")["id"]
    add(client, pid, a)
    add(client, pid, b)
    add(client, pid, a)  # duplicates are rows of their own, as in the reference
    add(client, other, a)
    members = client.get(f"{P}/{pid}/intents").json()
    assert [m["title"] for m in members] == ["a", "b"]
    assert {"parent_id", "parent_intent_id", "version"} <= set(members[0])
    assert [p["id"] for p in client.get(f"/api/v1/intents/{a}/portfolios").json()] == [pid, other]
    assert client.get(f"{P}/nope/intents").json() == []
    assert client.get("/api/v1/intents/nope/portfolios").json() == []

    r = client.delete(f"{P}/{pid}/intents/{a}")
    assert r.status_code == 200
    assert r.json() == {"message": "Intent removed from portfolio"}
    assert [m["title"] for m in client.get(f"{P}/{pid}/intents").json()] == ["a", "b"]
    assert client.delete(f"{P}/{pid}/intents/{a}").status_code == 200
    assert [m["title"] for m in client.get(f"{P}/{pid}/intents").json()] == ["b"]
    r = client.delete(f"{P}/{pid}/intents/{a}")
    assert r.status_code == 404
    assert r.json()["detail"] == "Membership not found"
    assert client.delete(f"{P}/nope/intents/{a}").status_code == 404
    assert [p["id"] for p in client.get(f"/api/v1/intents/{a}/portfolios").json()] == [other]


def test_aggregate_status_follows_member_intents(client: Any) -> None:
    pid = portfolio(client)["id"]
    ids = [intent(client, title=f"i{n}") for n in range(4)]
    for iid in ids:
        add(client, pid, iid)

    def aggregate() -> dict[str, Any]:
        body = client.get(f"{P}/{pid}").json()
        listed = next(p for p in client.get(P).json() if p["id"] == pid)
        assert listed["aggregate_status"] == body["aggregate_status"]
        return dict(body)

    body = aggregate()
    assert body["aggregate_status"] == {
        "total": 4,
        "by_status": {"draft": 4},
        "completion_percentage": 0,
        "status": "in_progress",
    }
    set_status(client, ids[0], "active")
    set_status(client, ids[0], "completed")
    set_status(client, ids[1], "completed")
    set_status(client, ids[2], "suspended_awaiting_input")
    body = aggregate()
    assert body["aggregate_status"]["by_status"] == {
        "completed": 2,
        "suspended_awaiting_input": 1,
        "draft": 1,
    }
    assert body["aggregate_status"]["completion_percentage"] == 50
    assert body["aggregate_status"]["status"] == "in_progress"
    assert body["has_suspended_members"] is True
    assert body["suspended_member_count"] == 1

    set_status(client, ids[2], "active")
    set_status(client, ids[2], "completed")
    set_status(client, ids[3], "completed")
    body = aggregate()
    assert body["aggregate_status"] == {
        "total": 4,
        "by_status": {"completed": 4},
        "completion_percentage": 100,
        "status": "completed",
    }
    assert body["has_suspended_members"] is False

    late = intent(client, title="late")
    add(client, pid, late)
    set_status(client, late, "abandoned")
    body = aggregate()
    assert body["aggregate_status"]["completion_percentage"] == 80
    assert body["aggregate_status"]["status"] == "failed"
    client.delete(f"{P}/{pid}/intents/{late}")
    assert aggregate()["aggregate_status"]["status"] == "completed"


def _replay(srv: ServerProcess, path: str, count: int) -> list[SSEMessage]:
    """The first ``count`` messages of a stream, replayed from the start."""
    found: list[SSEMessage] = []
    headers = {**AUTH, "Last-Event-ID": "0"}
    with httpx.stream("GET", srv.base_url + path, headers=headers, timeout=10) as r:
        assert r.status_code == 200
        for message in iter_sse(r.iter_lines()):
            found.append(message)
            if len(found) == count:
                break
    return found


def test_portfolio_streams_on_both_path_families(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        pid = portfolio(c)["id"]
        a, b = intent(c, title="a"), intent(c, title="b")
        add(c, pid, a)
        add(c, pid, b)
        set_status(c, a, "completed")
        # A refused write (stale version) rolls its stream messages back with it.
        stale = c.post(
            f"/api/v1/intents/{b}/status", json={"status": "abandoned"}, headers={"If-Match": "9"}
        )
        assert stale.status_code == 409
        set_status(c, b, "suspended_awaiting_input")
        set_status(c, b, "active")
        c.delete(f"{P}/{pid}/intents/{b}")
        created = c.get(f"{P}/{pid}").json()

    reference = _replay(live_server, f"/api/v1/subscribe/portfolios/{pid}", 6)
    assert [(m.event, json.loads(m.data)) for m in reference[1:]] == [
        ("intent_added", {}),
        ("intent_added", {}),
        ("portfolio.member_suspended", {"portfolio_id": pid, "intent_id": b}),
        ("portfolio.member_resumed", {"portfolio_id": pid, "intent_id": b}),
        ("intent_removed", {}),
    ]
    first = json.loads(reference[0].data)
    assert reference[0].event == "portfolio_created"
    assert first["id"] == pid
    assert first["name"] == created["name"]

    runtime = _replay(live_server, f"/api/v1/portfolios/{pid}/subscribe", 6)
    assert {m.event for m in runtime} == {"PORTFOLIO_PROGRESS"}
    data = [json.loads(m.data) for m in runtime]
    assert [(d["trigger"], d["intent_id"]) for d in data] == [
        ("intent_added", a),
        ("intent_added", b),
        ("status_changed", a),
        ("status_changed", b),
        ("status_changed", b),
        ("intent_removed", b),
    ]
    assert [(d["total"], d["completion_percentage"]) for d in data] == [
        (1, 0),
        (2, 0),
        (2, 50),
        (2, 50),
        (2, 50),
        (1, 100),
    ]
    assert data[2]["old_status"] == "draft"
    assert data[2]["new_status"] == "completed"
    assert data[3]["suspended_member_count"] == 1
    assert data[5]["aggregate_status"] == {
        "total": 1,
        "by_status": {"completed": 1},
        "completion_percentage": 100,
        "status": "completed",
    }
    assert all(d["portfolio_id"] == pid for d in data)
