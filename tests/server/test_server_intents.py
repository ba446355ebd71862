"""RFC-0001 over HTTP: creation, versioned writes, nested patches, events, assignment."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}


def create(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/intents", json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_create_returns_reference_shape_with_both_parent_keys(client: Any) -> None:
    body = create(client, description="d", created_by="alice", constraints={"a": 1}, state={"x": 1})
    assert body["version"] == 1
    assert body["status"] == "draft"
    assert body["created_by"] == "alice"
    assert body["state"] == {"x": 1}
    assert body["parent_id"] is None
    assert body["parent_intent_id"] is None
    assert "T" in body["created_at"]
    assert not body["created_at"].endswith("Z")
    got = client.get(f"/api/v1/intents/{body['id']}").json()
    assert got == body


def test_nested_patches_persist(client: Any) -> None:
    intent = create(client, state={"a": {"x": 1}, "items": [1]})
    r = client.post(
        f"/api/v1/intents/{intent['id']}/state",
        json={
            "patches": [
                {"op": "set", "path": "/a/y", "value": 2},
                {"op": "append", "path": "/items", "value": 2},
                {"op": "remove", "path": "/a/x"},
            ]
        },
        headers={"If-Match": "1"},
    )
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/v1/intents/{intent['id']}").json()
    assert stored["state"] == {"a": {"y": 2}, "items": [1, 2]}
    assert stored["version"] == 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 400), ({"If-Match": '"1"'}, 400), ({"If-Match": "7"}, 409), ({"If-Match": "1"}, 200)],
)
def test_if_match_rules(client: Any, headers: dict[str, str], status: int) -> None:
    intent = create(client)
    r = client.post(
        f"/api/v1/intents/{intent['id']}/state", json={"state": {"k": 1}}, headers=headers
    )
    assert r.status_code == status, r.text
    if status == 409:
        assert r.json()["current_version"] == 1
        assert "lease" not in r.text.lower()


@pytest.mark.parametrize(
    "body",
    [
        {"title": 5},
        {"description": None, "title": "x"},
        {"title": "x", "status": "whatever"},
        {"title": "x", "constraints": []},
        {"title": "x", "depends_on": "abc"},
    ],
)
def test_bad_create_bodies_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    r = client.post("/api/v1/intents", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get("/api/v1/intents").json()["total"] == 0


def test_bad_patch_is_rejected_without_a_version_bump(client: Any) -> None:
    intent = create(client, state={"s": "text"})
    for patch in (
        {"op": "replace", "path": "a"},
        {"op": "set", "path": "/s/x", "value": 1},
        {"op": "remove", "path": "/missing"},
        {"op": "set", "path": "", "value": 1},
    ):
        r = client.post(
            f"/api/v1/intents/{intent['id']}/state",
            json={"patches": [patch]},
            headers={"If-Match": "1"},
        )
        assert r.status_code == 422, (patch, r.text)
    stored = client.get(f"/api/v1/intents/{intent['id']}").json()
    assert stored["version"] == 1
    assert stored["state"] == {"s": "text"}
    events = client.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert [e["event_type"] for e in events] == ["intent_created"]


def test_status_rules(client: Any) -> None:
    intent = create(client)
    url = f"/api/v1/intents/{intent['id']}/status"
    assert client.post(url, json={"status": "bogus"}, headers={"If-Match": "1"}).status_code == 422
    r = client.post(url, json={"status": "completed", "reason": "done"}, headers={"If-Match": "1"})
    assert r.status_code == 200
    assert r.json()["version"] == 2
    assert client.post(url, json={"status": "draft"}, headers={"If-Match": "2"}).status_code == 422
    events = client.get(f"/api/v1/intents/{intent['id']}/events").json()
    assert events[0]["event_type"] == "status_changed"
    assert events[0]["payload"] == {"status": "completed", "version": 2, "reason": "done"}


def test_unknown_parent_and_dependency_rejected_known_ones_stored(client: Any) -> None:
    assert (
        client.post("/api/v1/intents", json={"title": "c", "parent_intent_id": "nope"}).status_code
        == 422
    )
    assert (
        client.post("/api/v1/intents", json={"title": "c", "depends_on": ["nope"]}).status_code
        == 422
    )
    parent = create(client)
    child = create(client, parent_id=parent["id"], depends_on=[parent["id"]])
    assert child["parent_id"] == parent["id"]
    assert child["depends_on"] == [parent["id"]]


def test_nested_routes_404_for_unknown_intent(client: Any) -> None:
    for method, path, body in [
        ("GET", "/api/v1/intents/nope/events", None),
        ("POST", "/api/v1/intents/nope/events", {"event_type": "comment", "actor": "a"}),
        ("GET", "/api/v1/intents/nope/agents", None),
        ("POST", "/api/v1/intents/nope/agents", {"agent_id": "a"}),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["detail"] == "Intent not found"


def test_events_and_assignment(client: Any) -> None:
    intent = create(client)
    iid = intent["id"]
    r = client.post(
        f"/api/v1/intents/{iid}/events", json={"event_type": "my.custom", "payload": {"n": 1}}
    )
    assert r.status_code == 200
    assert r.json()["actor"] == DEV_KEY
    r = client.post(f"/api/v1/intents/{iid}/agents", json={"agent_id": "bob"})
    assert r.status_code == 200
    assert r.json()["role"] == "worker"
    assert [a["agent_id"] for a in client.get(f"/api/v1/intents/{iid}/agents").json()] == ["bob"]
    types = [e["event_type"] for e in client.get(f"/api/v1/intents/{iid}/events").json()]
    assert types == ["agent_assigned", "my.custom", "intent_created"]
    only = client.get(f"/api/v1/intents/{iid}/events", params={"event_type": "my.custom"}).json()
    assert [e["event_type"] for e in only] == ["my.custom"]
    assert client.delete(f"/api/v1/intents/{iid}/agents/bob").status_code == 200
    assert client.get(f"/api/v1/intents/{iid}/agents").json() == []
    assert client.delete(f"/api/v1/intents/{iid}/agents/bob").status_code == 404


def test_auth_precedes_validation(anon: Any) -> None:
    r = anon.post("/api/v1/intents", json={"bad": True})
    assert r.status_code == 401
    assert r.json()["detail"] == "Invalid or missing API key"
    assert anon.get("/.well-known/openintent.json").status_code == 200


def test_concurrent_writers_same_version_one_winner(live_server: ServerProcess) -> None:
    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:
            intent = (await c.post("/api/v1/intents", json={"title": "race"})).json()

            async def write(n: int) -> int:
                r = await c.post(
                    f"/api/v1/intents/{intent['id']}/state",
                    json={"state": {"writer": n}},
                    headers={"If-Match": "1"},
                )
                return r.status_code

            codes = await asyncio.gather(*(write(n) for n in range(20)))
            final = (await c.get(f"/api/v1/intents/{intent['id']}")).json()
            assert final["version"] == 2
            return list(codes)

    codes = asyncio.run(run())
    assert sorted(codes) == [200] + [409] * 19


def test_idempotency_key_returns_the_first_result(client: Any) -> None:
    first = client.post(
        "/api/v1/intents", json={"title": "once"}, headers={"Idempotency-Key": "k1"}
    )
    again = client.post(
        "/api/v1/intents", json={"title": "once"}, headers={"Idempotency-Key": "k1"}
    )
    other = client.post(
        "/api/v1/intents", json={"title": "once"}, headers={"Idempotency-Key": "k2"}
    )
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.json() == again.json()
    assert other.json()["id"] != first.json()["id"]
    assert client.get("/api/v1/intents").json()["total"] == 2
    bad = client.post(
        "/api/v1/intents", json={"title": "x"}, headers={"Idempotency-Key": "k" * 300}
    )
    assert bad.status_code == 400


def test_concurrent_creates_with_one_idempotency_key_create_once(
    live_server: ServerProcess,
) -> None:
    async def run() -> set[str]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:

            async def one() -> str:
                r = await c.post(
                    "/api/v1/intents", json={"title": "dup"}, headers={"Idempotency-Key": "same"}
                )
                assert r.status_code == 200, r.text
                return str(r.json()["id"])

            ids = set(await asyncio.gather(*(one() for _ in range(20))))
            total = (await c.get("/api/v1/intents")).json()["total"]
            assert total == 1
            return ids

    assert len(asyncio.run(run())) == 1
