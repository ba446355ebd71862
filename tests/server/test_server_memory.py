"""RFC-0015 over HTTP: one entry per (agent, namespace, key), versions and If-Match,
tiers (working archival, episodic LRU capacity, shared semantic entries), tag and
namespace filters, TTL expiry, ownership, batches, events, and bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from openintent.server import ServerConfig, create_app
from openintent.server.testing import DEV_KEY, ServerProcess

M = "/api/v1/memory"
AGENT = {"X-API-Key": DEV_KEY, "X-Agent-ID": "agent-m"}
# another principal (API key) acting as another agent
STRANGER = {"X-API-Key": "agent-synth-key", "X-Agent-ID": "agent-s"}


def _client(database_url: str, **config: Any) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(ServerConfig(database_url=database_url, **config)))


@pytest.fixture
def mc(database_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with _client(database_url, memory_episodic_capacity=3) as c:
        c.headers.update(AGENT)
        yield c


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def store(c: Any, key: str = "k", agent: str = "agent-m", **body: Any) -> dict[str, Any]:
    doc = {"agent_id": agent, "namespace": "notes", "key": key, "value": {"v": 1}, **body}
    return dict(ok(c.post(M, json=doc)))


def keys(entries: list[dict[str, Any]]) -> list[str]:
    return [e["key"] for e in entries]


# -- reference shapes ------------------------------------------------------------------


def test_create_get_update_delete(mc: Any) -> None:
    body = {
        "agent_id": "agent-m",
        "namespace": "inv",
        "key": "progress",
        "value": {"done": 1},
        "memory_type": "working",
        "scope": {"task_id": "t1", "intent_id": "i1"},
        "tags": ["batch", "a"],
        "ttl": "duration:PT1H",
        "pinned": False,
        "priority": "normal",
        "sensitivity": "internal",
    }
    entry = ok(mc.post(M, json=body))
    assert set(entry) == {
        "id",
        "agent_id",
        "namespace",
        "key",
        "value",
        "memory_type",
        "version",
        "scope",
        "tags",
        "ttl",
        "pinned",
        "priority",
        "sensitivity",
        "curated_by",
        "created_at",
        "updated_at",
        "expires_at",
    }
    assert (entry["version"], entry["scope"], entry["tags"]) == (
        1,
        {"task_id": "t1", "intent_id": "i1"},
        ["batch", "a"],
    )
    assert entry["expires_at"] is not None  # one hour after the write
    assert ok(mc.get(f"{M}/{entry['id']}")) == entry
    patched = ok(
        mc.patch(
            f"{M}/{entry['id']}",
            json={
                "value": {"done": 5},
                "tags": ["x"],
                "pinned": True,
                "priority": "low",
                "ttl": "task_lifetime",
            },
            headers={"If-Match": "1"},
        )
    )
    assert (
        patched["version"],
        patched["value"],
        patched["tags"],
        patched["pinned"],
        patched["priority"],
    ) == (2, {"done": 5}, ["x"], True, "low")
    assert (patched["ttl"], patched["expires_at"]) == ("task_lifetime", None)
    stale = mc.patch(f"{M}/{entry['id']}", json={"value": {"done": 6}}, headers={"If-Match": "1"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert stale.json()["current"] == patched  # the RFC's 409 carries the current entry
    assert mc.patch(f"{M}/{entry['id']}", json={}).status_code == 428
    assert mc.patch(f"{M}/{entry['id']}", json={}, headers={"If-Match": '"2"'}).status_code == 428
    assert mc.patch(f"{M}/missing", json={}, headers={"If-Match": "1"}).status_code == 404
    assert ok(mc.delete(f"{M}/{entry['id']}")) == {"status": "deleted", "entry_id": entry["id"]}
    gone = mc.get(f"{M}/{entry['id']}")
    assert (gone.status_code, gone.json()["detail"]) == (404, "Memory entry not found")
    assert mc.delete(f"{M}/{entry['id']}").status_code == 404


def test_storing_again_updates_the_entry(mc: Any) -> None:
    first = store(mc, tags=["a"], pinned=True, priority="high")
    again = store(mc, value={"v": 2})
    assert again["id"] == first["id"]
    assert (again["version"], again["value"]) == (2, {"v": 2})
    assert (again["tags"], again["pinned"], again["priority"]) == (
        ["a"],
        True,
        "high",
    )  # not sent: kept
    third = store(mc, value={"v": 3}, tags=[], pinned=False)
    assert (third["version"], third["tags"], third["pinned"]) == (3, [], False)
    assert len(ok(mc.get("/api/v1/agents/agent-m/memory"))) == 1
    other_agent = store(mc, agent="agent-n")
    assert other_agent["id"] != first["id"]  # one entry per agent, namespace and key
    tier = mc.post(
        M,
        json={
            "agent_id": "agent-m",
            "namespace": "notes",
            "key": "k",
            "value": {},
            "memory_type": "episodic",
        },
    )
    assert tier.status_code == 409


@pytest.mark.parametrize(
    "patch",
    [
        {"memory_type": "longterm"},
        {"priority": "urgent"},
        {"sensitivity": "secret"},
        {"value": [1, 2]},
        {"value": "text"},
        {"ttl": "forever"},
        {"ttl": "duration:P1M"},
        {"tags": "a,b"},
        {"tags": [""]},
        {"agent_id": ""},
        {"namespace": None},
        {"key": 7},
        {"scope": {"task_id": 5}},
        {"expires_at": "2001-01-01T00:00:00"},
        {"value": {"blob": "x" * (65 * 1024)}},
    ],
)
def test_bad_input_stores_nothing(mc: Any, patch: dict[str, Any]) -> None:
    body = {"agent_id": "agent-m", "namespace": "notes", "key": "k", "value": {"v": 1}, **patch}
    r = mc.post(M, json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list | str)
    assert ok(mc.get(M))["total"] == 0


def test_bad_patch_changes_nothing(mc: Any) -> None:
    entry = store(mc)
    for body in ({"priority": "urgent"}, {"value": [1]}, {"ttl": "x"}, {"tags": [3]}):
        r = mc.patch(f"{M}/{entry['id']}", json=body, headers={"If-Match": "1"})
        assert r.status_code == 422, (body, r.text)
    assert ok(mc.get(f"{M}/{entry['id']}"))["version"] == 1


def test_bad_query_parameters(mc: Any) -> None:
    for url in (
        "/api/v1/agents/a/memory?memory_type=forever",
        "/api/v1/agents/a/memory?limit=0",
        "/api/v1/agents/a/memory?offset=-1",
        f"{M}?limit=abc",
        f"{M}?pinned=perhaps",
    ):
        assert mc.get(url).status_code == 422, url


# -- filters ---------------------------------------------------------------------------


def test_tag_namespace_type_and_paging_filters(mc: Any) -> None:
    store(mc, "a", tags=["x", "y"])
    store(mc, "b", tags=["x"], namespace="notes.deep")
    store(mc, "c", tags=["y"], namespace="other", memory_type="episodic", pinned=True)
    store(mc, "d")
    listing = "/api/v1/agents/agent-m/memory"
    assert keys(ok(mc.get(f"{listing}?tags=x"))) == ["a", "b"]
    assert keys(ok(mc.get(f"{listing}?tags=x,y"))) == ["a"]  # all must match
    assert keys(ok(mc.get(f"{listing}?tags=zzz"))) == []
    assert keys(ok(mc.get(f"{listing}?namespace=notes"))) == ["a", "d"]
    assert keys(ok(mc.get(f"{listing}?memory_type=episodic"))) == ["c"]
    assert keys(ok(mc.get(f"{listing}?limit=2&offset=1"))) == ["b", "c"]
    found = ok(mc.get(f"{M}?agent_id=agent-m&tags_any=x,y&limit=2"))
    assert (keys(found["entries"]), found["total"], found["limit"], found["offset"]) == (
        ["a", "b"],
        3,
        2,
        0,
    )
    assert keys(ok(mc.get(f"{M}?namespace=notes*"))["entries"]) == ["a", "b", "d"]
    assert keys(ok(mc.get(f"{M}?namespace=notes.*"))["entries"]) == ["b"]
    assert keys(ok(mc.get(f"{M}?pinned=true"))["entries"]) == ["c"]
    assert keys(ok(mc.get(f"{M}?key=d"))["entries"]) == ["d"]
    ok(
        mc.post(
            M,
            json={
                "agent_id": "agent-m",
                "namespace": "s",
                "key": "scoped",
                "value": {},
                "scope": {"task_id": "t9"},
            },
        )
    )
    assert keys(ok(mc.get(f"{M}?scope.task_id=t9"))["entries"]) == ["scoped"]
    later = ok(mc.get(f"{M}?key=scoped"))["entries"][0]["updated_at"]
    assert keys(ok(mc.get(f"{M}?updated_before={later}"))["entries"]) == ["a", "b", "c", "d"]


def test_namespaces_and_summary(mc: Any) -> None:
    store(mc, "a")
    store(mc, "b", namespace="ep", memory_type="episodic", pinned=True)
    spaces = ok(mc.get(f"{M}/namespaces"))["namespaces"]
    assert [(s["namespace"], s["entries"]) for s in spaces] == [("ep", 1), ("notes", 1)]
    assert ok(mc.get(f"{M}/namespaces/ep"))["by_type"] == {"episodic": 1}
    assert mc.get(f"{M}/namespaces/none").status_code == 404
    summary = ok(mc.get("/api/v1/agents/agent-m/memory/summary"))
    assert summary == {
        "agent_id": "agent-m",
        "total": 2,
        "by_type": {"working": 1, "episodic": 1, "semantic": 0},
        "by_namespace": {"ep": 1, "notes": 1},
        "pinned": 1,
        "episodic_capacity": 3,
    }


# -- ownership -----------------------------------------------------------------------------


def test_private_entries_belong_to_their_agent(mc: Any) -> None:
    entry = store(mc, "secret-plan")
    url = f"{M}/{entry['id']}"
    assert mc.get(url, headers=STRANGER).status_code == 403
    assert (
        mc.patch(url, json={"value": {}}, headers={**STRANGER, "If-Match": "1"}).status_code == 403
    )
    assert mc.delete(url, headers=STRANGER).status_code == 403
    assert ok(mc.get("/api/v1/agents/agent-m/memory", headers=STRANGER)) == []
    assert ok(mc.get(M, headers=STRANGER))["total"] == 0
    overwrite = mc.post(
        M,
        json={"agent_id": "agent-m", "namespace": "notes", "key": "secret-plan", "value": {}},
        headers=STRANGER,
    )
    assert overwrite.status_code == 403
    # the agent itself, whatever key it uses, and the principal that wrote it may
    as_agent = {"X-API-Key": "agent-research-key", "X-Agent-ID": "agent-m"}
    assert ok(mc.get(url, headers=as_agent))["id"] == entry["id"]
    writer = {"X-API-Key": DEV_KEY, "X-Agent-ID": "coordinator"}
    assert ok(mc.get(url, headers=writer))["id"] == entry["id"]
    assert mc.get(url, headers={"X-API-Key": DEV_KEY}).status_code == 200
    assert ok(mc.delete(url, headers=as_agent))["status"] == "deleted"


def test_semantic_entries_are_shared(mc: Any) -> None:
    fact = store(mc, "sky", namespace="world", memory_type="semantic", value={"color": "blue"})
    assert fact["curated_by"] == "agent-m"
    assert ok(mc.get(f"{M}/{fact['id']}", headers=STRANGER))["value"] == {"color": "blue"}
    assert keys(ok(mc.get(f"{M}?namespace=world", headers=STRANGER))["entries"]) == ["sky"]
    # unique per namespace and key across agents; read-only for the others
    clash = mc.post(
        M,
        json={
            "agent_id": "agent-s",
            "namespace": "world",
            "key": "sky",
            "value": {},
            "memory_type": "semantic",
        },
        headers=STRANGER,
    )
    assert clash.status_code == 403
    assert mc.delete(f"{M}/{fact['id']}", headers=STRANGER).status_code == 403
    own = ok(
        mc.post(
            M,
            json={
                "agent_id": "agent-s",
                "namespace": "world",
                "key": "sky",
                "value": {},
                "memory_type": "episodic",
            },
            headers=STRANGER,
        )
    )
    assert own["id"] != fact["id"]  # a private entry of the other agent under the same key


# -- tiers ---------------------------------------------------------------------------------


def test_episodic_capacity_evicts_least_recently_used(mc: Any) -> None:
    first = store(mc, "k1", memory_type="episodic")
    store(mc, "k2", memory_type="episodic")
    store(mc, "k3", memory_type="episodic")
    time.sleep(0.01)
    ok(mc.get(f"{M}/{first['id']}"))  # reading counts as use
    store(mc, "k4", memory_type="episodic")
    listing = "/api/v1/agents/agent-m/memory?memory_type=episodic"
    assert keys(ok(mc.get(listing))) == ["k1", "k3", "k4"]
    store(mc, "w", memory_type="working")  # other tiers do not count
    store(mc, "k5", memory_type="episodic", priority="high")
    assert keys(ok(mc.get(listing))) == ["k1", "k4", "k5"]


def test_eviction_spares_pinned_and_prefers_low_priority(mc: Any, database_url: str) -> None:
    store(mc, "pinned", memory_type="episodic", pinned=True)
    store(mc, "high", memory_type="episodic", priority="high")
    store(mc, "low", memory_type="episodic", priority="low")
    store(mc, "new", memory_type="episodic")
    listing = "/api/v1/agents/agent-m/memory?memory_type=episodic"
    assert keys(ok(mc.get(listing))) == ["pinned", "high", "new"]
    store(mc, "newer", memory_type="episodic")
    assert keys(ok(mc.get(listing))) == ["pinned", "high", "newer"]  # normal before high


def test_capacity_full_of_pinned_entries(database_url: str) -> None:
    with _client(database_url, memory_episodic_capacity=2) as c:
        c.headers.update(AGENT)
        store(c, "a", memory_type="episodic", pinned=True)
        store(c, "b", memory_type="episodic", pinned=True)
        full = c.post(
            M,
            json={
                "agent_id": "agent-m",
                "namespace": "notes",
                "key": "c",
                "value": {},
                "memory_type": "episodic",
            },
        )
        assert full.status_code == 429
        assert "Memory Capacity Exceeded" in full.json()["detail"]
        assert keys(ok(c.get("/api/v1/agents/agent-m/memory"))) == ["a", "b"]


def test_unlimited_capacity(database_url: str) -> None:
    with _client(database_url, memory_episodic_capacity=0) as c:
        c.headers.update(AGENT)
        for i in range(5):
            store(c, f"k{i}", memory_type="episodic")
        assert len(ok(c.get("/api/v1/agents/agent-m/memory"))) == 5


def test_ttl_expiry(mc: Any) -> None:
    intent = ok(mc.post("/api/v1/intents", json={"title": "t"}))
    short = store(mc, "short", ttl="duration:PT1S", scope={"intent_id": intent["id"]})
    long = store(mc, "long", ttl="duration:PT1H")
    soon = ok(
        mc.post(
            M,
            json={
                "agent_id": "agent-m",
                "namespace": "notes",
                "key": "explicit",
                "value": {},
                "ttl": "duration:PT1H",
                "expires_at": _in(1.0),
            },
        )
    )
    assert soon["expires_at"] < long["expires_at"]  # an explicit expiry wins over the ttl
    time.sleep(1.3)
    assert mc.get(f"{M}/{short['id']}").status_code == 404
    assert keys(ok(mc.get("/api/v1/agents/agent-m/memory"))) == ["long"]
    store(mc, "trigger")  # the next write sweeps expired rows
    kinds = [e["event_type"] for e in ok(mc.get(f"/api/v1/intents/{intent['id']}/events"))]
    assert "memory.expired" in kinds
    assert "memory.created" in kinds


def _in(seconds: float) -> str:
    import datetime as dt

    from openintent.core.converter import utcnow

    return (utcnow() + dt.timedelta(seconds=seconds)).isoformat()


def test_rewriting_restarts_a_ttl(mc: Any) -> None:
    entry = store(mc, ttl="duration:PT2S")
    time.sleep(1.2)
    again = store(mc, value={"v": 2})
    assert again["expires_at"] > entry["expires_at"]
    time.sleep(1.0)
    assert ok(mc.get(f"{M}/{entry['id']}"))["value"] == {"v": 2}


def test_working_memory_is_archived_when_its_task_ends(mc: Any) -> None:
    intent = ok(mc.post("/api/v1/intents", json={"title": "t"}))
    scope = {"task_id": "task-1", "intent_id": intent["id"]}
    store(mc, "step", scope=scope, value={"n": 1})
    store(mc, "private", scope=scope, sensitivity="restricted", value={"pin": 1234})
    store(mc, "kept", scope=scope, memory_type="episodic")
    store(mc, "ends", scope=scope, memory_type="episodic", ttl="task_lifetime")
    store(mc, "other-task", scope={"task_id": "task-2"})
    memory = mc.app.state.services.get("memory")

    async def end() -> int:
        async with mc.app.state.db.write():
            count: int = await memory.end_task("task-1", actor="agent-m")
            return count

    with mc.portal() as portal:
        assert portal.call(end) == 3
    assert sorted(keys(ok(mc.get("/api/v1/agents/agent-m/memory")))) == ["kept", "other-task"]
    (archived,) = [
        e
        for e in ok(mc.get(f"/api/v1/intents/{intent['id']}/events"))
        if e["event_type"] == "memory.archived"
    ]
    snapshot = {s["key"]: s for s in archived["payload"]["snapshot"]}
    assert archived["payload"]["entries_archived"] == 3
    assert snapshot["step"]["value"] == {"n": 1}
    assert "value" not in snapshot["private"]  # restricted values stay out of the log


def test_completing_a_task_archives_its_working_memory(mc: Any) -> None:
    """RFC-0012 meets RFC-0015: the task's end is the working memory's end."""
    intent = ok(mc.post("/api/v1/intents", json={"title": "t"}))

    def run_task(name: str, **body: Any) -> str:
        task = ok(mc.post("/api/v1/tasks", json={"intent_id": intent["id"], "name": name, **body}))
        store(mc, f"{name}-notes", scope={"task_id": task["id"], "intent_id": intent["id"]})
        store(mc, f"{name}-kept", scope={"task_id": task["id"]}, memory_type="episodic")
        for action in ("claim", "start", "complete"):
            ok(mc.post(f"/api/v1/tasks/{task['id']}/{action}", json={}))
        return str(task["id"])

    archived_task = run_task("a")
    run_task("b", memory_policy={"archive_on_completion": False})
    left = sorted(keys(ok(mc.get("/api/v1/agents/agent-m/memory"))))
    assert left == ["a-kept", "b-kept", "b-notes"]
    events = ok(mc.get(f"/api/v1/intents/{intent['id']}/events"))
    (archived,) = [e for e in events if e["event_type"] == "memory.archived"]
    assert archived["payload"]["task_id"] == archived_task
    assert archived["payload"]["entries_archived"] == 1
    assert archived["payload"]["snapshot"][0]["key"] == "a-notes"


def test_batches(mc: Any) -> None:
    items = [
        {"agent_id": "agent-m", "namespace": "b", "key": f"k{i}", "value": {"i": i}}
        for i in range(3)
    ]
    stored = ok(mc.post(f"{M}/batch", json={"entries": items}))["entries"]
    assert keys(stored) == ["k0", "k1", "k2"]
    bad = [
        *items,
        {"agent_id": "agent-m", "namespace": "b", "key": "k9", "value": {}, "priority": "urgent"},
    ]
    assert mc.post(f"{M}/batch", json={"entries": bad}).status_code == 422
    assert mc.post(f"{M}/batch", json={"entries": []}).status_code == 422
    assert len(ok(mc.get("/api/v1/agents/agent-m/memory"))) == 3
    ids = [e["id"] for e in stored]
    assert (
        mc.request("DELETE", f"{M}/batch", json={"entry_ids": [*ids, "missing"]}).status_code == 404
    )
    assert len(ok(mc.get("/api/v1/agents/agent-m/memory"))) == 3  # all or nothing
    done = ok(mc.request("DELETE", f"{M}/batch", json={"entry_ids": ids}))
    assert done["deleted"] == 3
    assert ok(mc.get("/api/v1/agents/agent-m/memory")) == []


def test_events_carry_no_values(mc: Any) -> None:
    intent = ok(mc.post("/api/v1/intents", json={"title": "t"}))
    entry = store(mc, scope={"intent_id": intent["id"]}, value={"hidden": "v4lue"})
    store(mc, scope={"intent_id": intent["id"]}, value={"hidden": "v4lue2"})
    ok(mc.delete(f"{M}/{entry['id']}"))
    events = [
        e
        for e in ok(mc.get(f"/api/v1/intents/{intent['id']}/events"))
        if e["event_type"].startswith("memory.")
    ]
    assert [e["event_type"] for e in events] == [
        "memory.deleted",
        "memory.updated",
        "memory.created",
    ]
    updated = events[1]["payload"]
    assert (updated["version"], updated["previous_version"], updated["entry_id"]) == (
        2,
        1,
        entry["id"],
    )
    assert "v4lue" not in str(events)


# -- concurrency (real processes, real requests) -----------------------------------------------


def test_concurrent_stores_of_one_key_make_one_entry(live_server: ServerProcess) -> None:
    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AGENT, timeout=30) as c:

            async def one(n: int) -> dict[str, Any]:
                r = await c.post(
                    M,
                    json={
                        "agent_id": "agent-m",
                        "namespace": "race",
                        "key": "k",
                        "value": {"n": n},
                    },
                )
                assert r.status_code == 200, r.text
                return dict(r.json())

            return list(await asyncio.gather(*(one(n) for n in range(15))))

    results = asyncio.run(run())
    assert len({r["id"] for r in results}) == 1
    assert sorted(r["version"] for r in results) == list(range(1, 16))


def test_concurrent_episodic_stores_respect_capacity(database_url: str) -> None:
    with ServerProcess(database_url, env={"OPENINTENT_MEMORY_EPISODIC_CAPACITY": "4"}) as srv:

        async def run() -> list[str]:
            async with httpx.AsyncClient(base_url=srv.base_url, headers=AGENT, timeout=30) as c:

                async def one(n: int) -> None:
                    r = await c.post(
                        M,
                        json={
                            "agent_id": "agent-m",
                            "namespace": "e",
                            "key": f"k{n}",
                            "value": {},
                            "memory_type": "episodic",
                        },
                    )
                    assert r.status_code == 200, r.text

                await asyncio.gather(*(one(n) for n in range(12)))
                listed = (await c.get("/api/v1/agents/agent-m/memory")).json()
                return [e["key"] for e in listed]

        assert len(asyncio.run(run())) == 4
