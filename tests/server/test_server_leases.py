"""RFC-0003 over HTTP: acquire, list, renew, release, expiry, the state-write guard, the
``LEASE_RELEASED`` runtime message, and one holder per scope under real concurrency."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest

from openintent.server import channels
from openintent.server.testing import DEV_KEY, ServerProcess, iter_sse

API = "/api/v1/intents"
OTHER = "agent-research-key"
THIRD = "agent-synth-key"
AUTH = {"X-API-Key": DEV_KEY}
AS_OTHER = {"X-API-Key": OTHER}
NOT_OWNED = "Lease not found or not owned by you"


def create(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post(API, json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return r.json()


def acquire(client: Any, intent: dict[str, Any], scope: str, **kw: Any) -> Any:
    headers = kw.pop("headers", None)
    return client.post(f"{API}/{intent['id']}/leases", json={"scope": scope, **kw}, headers=headers)


def leases(client: Any, intent: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.get(f"{API}/{intent['id']}/leases")
    assert r.status_code == 200, r.text
    return r.json()


def event_log(client: Any, intent: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e["event_type"], e["payload"]) for e in client.get(f"{API}/{intent['id']}/events").json()
    ]


def patch_state(
    client: Any, intent: dict[str, Any], patches: list[dict[str, Any]], key: str
) -> Any:
    version = client.get(f"{API}/{intent['id']}").json()["version"]
    return client.post(
        f"{API}/{intent['id']}/state",
        json={"patches": patches},
        headers={"If-Match": str(version), "X-API-Key": key},
    )


def ts(value: str) -> dt.datetime:
    assert not value.endswith("Z")
    assert "+" not in value
    return dt.datetime.fromisoformat(value)


# -- acquire ------------------------------------------------------------------------------


def test_acquire_shape_holder_is_the_acting_agent(client: Any) -> None:
    intent = create(client)
    r = acquire(
        client,
        intent,
        "research",
        duration_seconds=60,
        agent_id="someone",
        headers={"X-Agent-ID": "bob"},
    )
    assert r.status_code == 200, r.text
    lease = r.json()
    assert set(lease) == {
        "id",
        "intent_id",
        "agent_id",
        "scope",
        "acquired_at",
        "expires_at",
        "released_at",
        "status",
    }
    # The acting agent (X-Agent-ID) is shown, never the caller's API key; a body
    # agent_id cannot claim someone else's name.
    assert lease["agent_id"] == "bob"
    assert (lease["intent_id"], lease["scope"], lease["status"]) == (
        intent["id"],
        "research",
        "active",
    )
    assert lease["released_at"] is None
    assert ts(lease["expires_at"]) - ts(lease["acquired_at"]) == dt.timedelta(seconds=60)
    assert event_log(client, intent)[0] == (
        "lease_acquired",
        {"scope": "research", "lease_id": lease["id"]},
    )
    assert client.get(f"{API}/{intent['id']}").json()["version"] == 1  # leases do not bump
    default = acquire(client, intent, "other").json()
    assert ts(default["expires_at"]) - ts(default["acquired_at"]) == dt.timedelta(seconds=300)


def test_one_holder_per_scope(client: Any) -> None:
    intent, elsewhere = create(client), create(client)
    first = acquire(client, intent, "research").json()
    for headers in (None, AS_OTHER):  # the holder itself conflicts too, as the reference
        r = acquire(client, intent, "research", headers=headers)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["detail"] == "Lease already held for this scope"
        assert body["existing_lease"]["id"] == first["id"]
        assert body["existing_lease"]["agent_id"] == DEV_KEY
    assert acquire(client, intent, "writing", headers=AS_OTHER).status_code == 200
    assert acquire(client, elsewhere, "research", headers=AS_OTHER).status_code == 200
    assert [e for e, _ in event_log(client, intent)].count("lease_acquired") == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"scope": 5},
        {"scope": ""},
        {"scope": "   "},
        {"scope": "x" * 256},
        {"scope": "s", "duration_seconds": "60"},
        {"scope": "s", "duration_seconds": 1.5},
        {"scope": "s", "duration_seconds": True},
        {"scope": "s", "duration_seconds": 0},
        {"scope": "s", "duration_seconds": -5},
        {"scope": "s", "duration_seconds": 10**12},
    ],
)
def test_bad_acquire_is_422_and_stores_nothing(client: Any, body: dict[str, Any]) -> None:
    intent = create(client)
    r = client.post(f"{API}/{intent['id']}/leases", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert leases(client, intent) == []
    assert [e for e, _ in event_log(client, intent)] == ["intent_created"]


def test_unknown_intent_is_404_everywhere(client: Any) -> None:
    for method, path, body in [
        ("GET", f"{API}/nope/leases", None),
        ("POST", f"{API}/nope/leases", {"scope": "s"}),
        ("PATCH", f"{API}/nope/leases/l", {"duration_seconds": 5}),
        ("DELETE", f"{API}/nope/leases/l", None),
    ]:
        r = client.request(method, path, json=body)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["detail"] == "Intent not found"


def test_leases_need_a_key(anon: Any) -> None:
    assert anon.post(f"{API}/x/leases", json={}).status_code == 401
    assert anon.get(f"{API}/x/leases").status_code == 401


# -- list, renew, release -----------------------------------------------------------------


def test_list_is_a_bare_array_of_every_lease_with_status(client: Any) -> None:
    intent = create(client)
    a = acquire(client, intent, "a").json()
    b = acquire(client, intent, "b").json()
    assert client.delete(f"{API}/{intent['id']}/leases/{a['id']}").status_code == 200
    listed = leases(client, intent)
    assert [(x["id"], x["status"]) for x in listed] == [(a["id"], "released"), (b["id"], "active")]
    assert listed[0]["released_at"] is not None
    assert listed[1] == b


def test_renew(client: Any) -> None:
    intent, elsewhere = create(client), create(client)
    lease = acquire(client, intent, "research", duration_seconds=30).json()
    url = f"{API}/{intent['id']}/leases/{lease['id']}"
    r = client.patch(url, json={"duration_seconds": 120})
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["id"] == lease["id"]
    assert renewed["status"] == "active"
    assert ts(renewed["expires_at"]) > ts(lease["expires_at"])
    assert renewed["acquired_at"] == lease["acquired_at"]
    assert event_log(client, intent)[0] == (
        "lease_renewed",
        {"lease_id": lease["id"], "duration_seconds": 120},
    )
    r = client.patch(url, json={})  # {} is valid: 300 s
    assert r.status_code == 200
    assert dt.timedelta(seconds=299) < ts(r.json()["expires_at"]) - ts(lease["acquired_at"])
    assert client.patch(url, json={"duration_seconds": 0}).status_code == 422
    for bad_url, headers in [
        (url, AS_OTHER),  # not the holder
        (f"{API}/{intent['id']}/leases/nope", None),
        (f"{API}/{elsewhere['id']}/leases/{lease['id']}", None),  # another intent's path
    ]:
        r = client.patch(bad_url, json={"duration_seconds": 10}, headers=headers)
        assert (r.status_code, r.json()["detail"]) == (404, NOT_OWNED), r.text
    assert client.delete(url).status_code == 200
    r = client.patch(url, json={"duration_seconds": 10})
    assert r.status_code == 404
    assert r.json()["detail"] == NOT_OWNED


def test_release(client: Any) -> None:
    intent, elsewhere = create(client), create(client)
    lease = acquire(client, intent, "research").json()
    url = f"{API}/{intent['id']}/leases/{lease['id']}"
    for bad_url, headers in [
        (url, AS_OTHER),
        (f"{API}/{intent['id']}/leases/nope", None),
        (f"{API}/{elsewhere['id']}/leases/{lease['id']}", None),
    ]:
        r = client.delete(bad_url, headers=headers)
        assert (r.status_code, r.json()["detail"]) == (404, NOT_OWNED), r.text
    r = client.delete(url)
    assert r.status_code == 200
    assert r.json() == {"message": "Lease released"}
    assert event_log(client, intent)[0] == ("lease_released", {"lease_id": lease["id"]})
    # A second release answers the same and changes nothing.
    released_at = leases(client, intent)[0]["released_at"]
    assert client.delete(url).json() == {"message": "Lease released"}
    assert leases(client, intent)[0]["released_at"] == released_at
    assert [e for e, _ in event_log(client, intent)].count("lease_released") == 1
    # The scope is free again, for anyone.
    assert acquire(client, intent, "research", headers=AS_OTHER).status_code == 200


# -- expiry (real time) --------------------------------------------------------------------


def test_expiry_frees_the_scope(client: Any) -> None:
    intent = create(client)
    old = acquire(client, intent, "research", duration_seconds=1).json()
    assert acquire(client, intent, "research", headers=AS_OTHER).status_code == 409
    time.sleep(1.2)
    assert leases(client, intent)[0]["status"] == "expired"
    url = f"{API}/{intent['id']}/leases/{old['id']}"
    r = client.patch(url, json={"duration_seconds": 60})  # no renewing a lapsed lease
    assert r.status_code == 404
    assert r.json()["detail"] == NOT_OWNED
    assert "expired" in r.json()["message"]
    r = acquire(client, intent, "research", headers=AS_OTHER)
    assert r.status_code == 200, r.text
    new = r.json()
    # The old holder's release is a no-op now: no event, and the new lease stands.
    assert client.delete(url).status_code == 200
    assert [(x["id"], x["status"]) for x in leases(client, intent)] == [
        (old["id"], "expired"),
        (new["id"], "active"),
    ]
    assert [e for e, _ in event_log(client, intent)].count("lease_released") == 0
    r = patch_state(client, intent, [{"op": "set", "path": "/research", "value": 1}], DEV_KEY)
    assert r.status_code == 409
    assert r.json()["existing_lease"]["id"] == new["id"]


# -- the state-write guard -----------------------------------------------------------------


def test_a_lease_blocks_other_holders_state_writes_to_its_scope(client: Any) -> None:
    intent = create(client, state={"research": {"notes": []}, "docs": {}})
    lease = acquire(client, intent, "research").json()
    acquire(client, intent, "docs/intro")
    for path in (
        "/research",
        "research",
        "/research/notes",
        "/research/notes/-",
        "/docs/intro/x",
        "/docs",
    ):
        r = patch_state(client, intent, [{"op": "set", "path": path, "value": 1}], OTHER)
        assert r.status_code == 409, (path, r.text)
        assert "lease" in r.text.lower()
        assert r.json()["existing_lease"]["agent_id"] == DEV_KEY
    r = patch_state(client, intent, [{"op": "set", "path": "/research/x", "value": 1}], OTHER)
    assert r.json()["existing_lease"]["id"] == lease["id"]
    # A merge-map write goes through the same check.
    r = client.post(
        f"{API}/{intent['id']}/state",
        json={"state": {"research": 2}},
        headers={"If-Match": "1", "X-API-Key": OTHER},
    )
    assert r.status_code == 409
    stored = client.get(f"{API}/{intent['id']}").json()
    assert stored["version"] == 1
    assert stored["state"] == {"research": {"notes": []}, "docs": {}}
    # Other keys, the holder, and non-state writes are not blocked.
    assert (
        patch_state(
            client, intent, [{"op": "set", "path": "/summary", "value": 1}], OTHER
        ).status_code
        == 200
    )
    assert (
        patch_state(
            client, intent, [{"op": "set", "path": "/docs/other", "value": 1}], OTHER
        ).status_code
        == 200
    )
    r = patch_state(
        client, intent, [{"op": "append", "path": "/research/notes", "value": "n"}], DEV_KEY
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"{API}/{intent['id']}/status",
        json={"status": "active"},
        headers={"If-Match": "4", "X-API-Key": OTHER},
    )
    assert r.status_code == 200, r.text
    # Once released, the scope is writable by others.
    assert client.delete(f"{API}/{intent['id']}/leases/{lease['id']}").status_code == 200
    assert (
        patch_state(
            client, intent, [{"op": "set", "path": "/research", "value": 9}], OTHER
        ).status_code
        == 200
    )


def test_only_lease_conflicts_mention_leases(client: Any) -> None:
    intent = create(client)
    acquire(client, intent, "research")
    stale = client.post(
        f"{API}/{intent['id']}/state", json={"state": {"x": 1}}, headers={"If-Match": "9"}
    )
    assert stale.status_code == 409
    assert "lease" not in stale.text.lower()
    held = acquire(client, intent, "research")
    assert held.status_code == 409
    assert "lease" in held.text.lower()


# -- LEASE_RELEASED for the agent runtime --------------------------------------------------


def stored(client: Any, channel: str) -> list[tuple[str, dict[str, Any]]]:
    db = client.app.state.db
    messages = client.blocking_portal.call(db.stream_after, [channel], 0)
    return [(m.name, json.loads(m.data)) for m in messages]


def test_release_streams_lease_released_to_the_intent_and_its_agents(client: Any) -> None:
    intent = create(client)
    iid = intent["id"]
    for agent in ("bob", "carol"):
        assert client.post(f"{API}/{iid}/agents", json={"agent_id": agent}).status_code == 200
    lease = acquire(client, intent, "research").json()
    client.delete(f"{API}/{iid}/leases/{lease['id']}")
    client.delete(f"{API}/{iid}/leases/{lease['id']}")  # a no-op announces nothing
    expected = ("LEASE_RELEASED", {"intent_id": iid, "scope": "research", "lease_id": lease["id"]})
    for channel in (
        channels.runtime_intent(iid),
        channels.runtime_agent("bob"),
        channels.runtime_agent("carol"),
    ):
        assert [m for m in stored(client, channel) if m[0].startswith("LEASE")] == [expected]
    # The reference-path streams never carry lease messages.
    assert all("lease" not in name.lower() for name, _ in stored(client, channels.intent(iid)))
    assert all("lease" not in name.lower() for name, _ in stored(client, channels.agent("bob")))


def test_expire_due_announces_lapsed_leases_once(client: Any) -> None:
    """The scheduler's lease-expiry job retires a lapsed lease and announces it once."""
    intent = create(client)
    iid = intent["id"]
    lapsed = acquire(client, intent, "a", duration_seconds=1).json()
    acquire(client, intent, "b", duration_seconds=60)
    expected = [
        (
            "LEASE_RELEASED",
            {"intent_id": iid, "scope": "a", "lease_id": lapsed["id"], "reason": "expired"},
        ),
    ]
    deadline = time.monotonic() + 10
    while stored(client, channels.runtime_intent(iid)) != expected:
        assert time.monotonic() < deadline, "the scheduler did not announce the lapsed lease"
        time.sleep(0.1)
    service = client.app.state.services.get("leases")
    assert client.blocking_portal.call(service.expire_due) == 0  # already retired
    time.sleep(1.5)  # another scheduler pass or two
    assert stored(client, channels.runtime_intent(iid)) == expected
    assert [x["status"] for x in leases(client, intent)] == ["expired", "active"]
    assert acquire(client, intent, "a", headers=AS_OTHER).status_code == 200


def test_lease_released_over_sse(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(API, json={"title": "sse"}).json()["id"]
        c.post(f"{API}/{iid}/agents", json={"agent_id": "bob"})
        lease = c.post(f"{API}/{iid}/leases", json={"scope": "research"}).json()
        assert c.delete(f"{API}/{iid}/leases/{lease['id']}").status_code == 200
        got: list[tuple[str, dict[str, Any]]] = []
        for path in (f"{API}/{iid}/subscribe", "/api/v1/agents/bob/subscribe"):
            headers = {"Last-Event-ID": "0", "Accept": "text/event-stream"}
            with c.stream("GET", path, headers=headers, timeout=httpx.Timeout(5.0, read=1.0)) as r:
                assert r.status_code == 200
                try:
                    for msg in iter_sse(r.iter_lines()):
                        if msg.event == "LEASE_RELEASED":
                            got.append((path, json.loads(msg.data)))
                            break
                except httpx.ReadTimeout:
                    pass
    data = {"intent_id": iid, "scope": "research", "lease_id": lease["id"]}
    assert got == [(f"{API}/{iid}/subscribe", data), ("/api/v1/agents/bob/subscribe", data)]


# -- concurrency ---------------------------------------------------------------------------


async def _race(base_url: str, intent_id: str, scope: str, n: int) -> list[httpx.Response]:
    keys = [DEV_KEY, OTHER, THIRD]
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as c:
        return list(
            await asyncio.gather(
                *(
                    c.post(
                        f"{API}/{intent_id}/leases",
                        json={"scope": scope},
                        headers={"X-API-Key": keys[i % 3]},
                    )
                    for i in range(n)
                )
            )
        )


def _one_winner(responses: list[httpx.Response]) -> dict[str, Any]:
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(responses) - 1), codes
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["detail"] == "Lease already held for this scope"
            assert body["existing_lease"]["id"] == winner["id"]
    return winner


def test_twenty_concurrent_acquisitions_one_holder(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(API, json={"title": "race"}).json()["id"]
        winner = _one_winner(asyncio.run(_race(live_server.base_url, iid, "research", 20)))
        listed = c.get(f"{API}/{iid}/leases").json()
        assert [x["id"] for x in listed] == [winner["id"]]
        kinds = [e["event_type"] for e in c.get(f"{API}/{iid}/events").json()]
        assert kinds.count("lease_acquired") == 1


def test_concurrent_acquisitions_after_expiry_one_holder(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.base_url, headers=AUTH) as c:
        iid = c.post(API, json={"title": "race"}).json()["id"]
        old = c.post(f"{API}/{iid}/leases", json={"scope": "s", "duration_seconds": 1}).json()
        time.sleep(1.2)
        winner = _one_winner(asyncio.run(_race(live_server.base_url, iid, "s", 20)))
        listed = c.get(f"{API}/{iid}/leases").json()
        assert [(x["id"], x["status"]) for x in listed] == [
            (old["id"], "expired"),
            (winner["id"], "active"),
        ]
