"""RFC-0002 over HTTP: child intents, dependency edits, graph views, completion gates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess

AUTH = {"X-API-Key": DEV_KEY}
API = "/api/v1/intents"


def create(client: Any, **body: Any) -> dict[str, Any]:
    r = client.post(API, json={"title": "t", **body})
    assert r.status_code == 200, r.text
    return r.json()


def child(client: Any, parent: dict[str, Any], title: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/{parent['id']}/children", json={"title": title, **body})
    assert r.status_code == 200, r.text
    return r.json()


def events(client: Any, intent: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.get(f"{API}/{intent['id']}/events")
    assert r.status_code == 200, r.text
    return r.json()


def titles(body: dict[str, Any], key: str) -> list[str]:
    assert list(body) == [key]
    return [i["title"] for i in body[key]]


def add_dep(client: Any, intent: dict[str, Any], dep: dict[str, Any] | str, version: int) -> Any:
    dep_id = dep if isinstance(dep, str) else dep["id"]
    return client.post(
        f"{API}/{intent['id']}/dependencies",
        json={"dependency_id": dep_id},
        headers={"If-Match": str(version)},
    )


def get(client: Any, intent: dict[str, Any]) -> dict[str, Any]:
    return client.get(f"{API}/{intent['id']}").json()


def set_status(client: Any, intent: dict[str, Any], status: str) -> Any:
    version = get(client, intent)["version"]
    return client.post(
        f"{API}/{intent['id']}/status", json={"status": status}, headers={"If-Match": str(version)}
    )


# -- children ---------------------------------------------------------------------------


def test_child_create_ignores_what_the_path_and_caller_decide(client: Any) -> None:
    parent = create(client, title="P")
    dep = create(client, title="D")
    body = child(
        client,
        parent,
        "C",
        description="d",
        depends_on=[dep["id"], dep["id"]],
        constraints={"c": 1},
        state={"k": 1},
        # ignored, as by the reference: the path, the caller and the defaults decide
        status="bogus",
        created_by="mallory",
        parent_intent_id="elsewhere",
        governance_policy={"max_cost": 1},
    )
    assert body["parent_id"] == body["parent_intent_id"] == parent["id"]
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["created_by"] == DEV_KEY
    assert body["governance_policy"] is None
    assert body["depends_on"] == [dep["id"]]
    assert (body["description"], body["constraints"], body["state"]) == ("d", {"c": 1}, {"k": 1})
    assert get(client, body) == body
    (created,) = events(client, body)
    assert created["event_type"] == "intent_created"
    assert created["actor"] == DEV_KEY
    assert created["payload"] == {"parent_id": parent["id"], "depends_on": [dep["id"]]}


@pytest.mark.parametrize(
    "body",
    [{}, {"title": 5}, {"title": "x", "depends_on": "abc"}, {"title": "x", "state": []}],
)
def test_child_create_bad_body_is_422_and_stores_nothing(client: Any, body: dict[str, Any]) -> None:
    parent = create(client)
    r = client.post(f"{API}/{parent['id']}/children", json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get(f"{API}/{parent['id']}/children").json() == {"children": []}


def test_child_create_unknown_parent_404_unknown_dependency_422(client: Any) -> None:
    r = client.post(f"{API}/nope/children", json={"title": "x"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Parent intent not found"
    parent = create(client)
    r = client.post(f"{API}/{parent['id']}/children", json={"title": "x", "depends_on": ["ghost"]})
    assert r.status_code == 422, r.text
    assert client.get(f"{API}/{parent['id']}/children").json() == {"children": []}
    assert client.get(API).json()["total"] == 1


# -- read views ---------------------------------------------------------------------------


@pytest.fixture
def family(client: Any) -> dict[str, dict[str, Any]]:
    """P -> (A -> A1, B); B depends on A and on X (outside the tree)."""
    p = create(client, title="P")
    x = create(client, title="X")
    a = child(client, p, "A")
    a1 = child(client, a, "A1")
    b = child(client, p, "B", depends_on=[a["id"], x["id"]])
    return {"P": p, "X": x, "A": a, "A1": a1, "B": b}


def test_tree_views_wrap_lists_and_carry_parent_intent_id(
    client: Any, family: dict[str, dict[str, Any]]
) -> None:
    p, a, a1, b = family["P"], family["A"], family["A1"], family["B"]
    view = lambda i, name: client.get(f"{API}/{i['id']}/{name}").json()  # noqa: E731
    assert titles(view(p, "children"), "children") == ["A", "B"]
    assert titles(view(p, "descendants"), "descendants") == ["A", "A1", "B"]
    assert titles(view(a1, "ancestors"), "ancestors") == ["A", "P"]
    assert titles(view(p, "ancestors"), "ancestors") == []
    assert titles(view(b, "dependencies"), "dependencies") == ["A", "X"]
    assert titles(view(a, "dependents"), "dependents") == ["B"]
    assert titles(view(family["X"], "dependents"), "dependents") == ["B"]
    assert titles(view(b, "dependents"), "dependents") == []
    for item in view(p, "descendants")["descendants"]:
        assert item["parent_intent_id"] == item["parent_id"]
        assert {"id", "title", "status", "version", "depends_on", "state"} <= item.keys()
    assert view(a1, "ancestors")["ancestors"][0]["id"] == a["id"]


@pytest.mark.parametrize(
    "view",
    [
        "children",
        "descendants",
        "ancestors",
        "dependencies",
        "dependents",
        "ready",
        "blocked",
        "graph",
    ],
)
def test_views_404_for_unknown_intent(client: Any, view: str) -> None:
    r = client.get(f"{API}/nope/{view}")
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == "Intent not found"


def test_ready_and_blocked_follow_dependency_status_only(
    client: Any, family: dict[str, dict[str, Any]]
) -> None:
    p = family["P"]

    def split() -> tuple[list[str], list[str]]:
        ready = client.get(f"{API}/{p['id']}/ready").json()
        blocked = client.get(f"{API}/{p['id']}/blocked").json()
        return titles(ready, "ready"), titles(blocked, "blocked")

    assert split() == (["A"], ["B"])
    assert set_status(client, family["A1"], "completed").status_code == 200
    assert set_status(client, family["A"], "completed").status_code == 200
    assert split() == (["A"], ["B"])  # X is still open
    assert set_status(client, family["X"], "abandoned").status_code == 200
    assert split() == (["A"], ["B"])  # abandoned is not completed
    r = client.delete(
        f"{API}/{family['B']['id']}/dependencies/{family['X']['id']}", headers={"If-Match": "1"}
    )
    assert r.status_code == 200, r.text
    assert split() == (["A", "B"], [])  # completed A stays "ready": own status not considered


def test_graph_shape_and_traversal(client: Any, family: dict[str, dict[str, Any]]) -> None:
    p, x, a, a1, b = (family[k]["id"] for k in ("P", "X", "A", "A1", "B"))
    assert set_status(client, family["X"], "completed").status_code == 200
    body = client.get(f"{API}/{p}/graph").json()
    assert list(body) == ["root_id", "nodes", "edges", "aggregate_status"]
    assert body["root_id"] == p
    assert [n["id"] for n in body["nodes"]] == [p, a, a1, b, x]
    assert body["nodes"][3] == {
        "id": b,
        "title": "B",
        "status": "draft",
        "parent_id": p,
        "depends_on": [a, x],
    }
    assert body["edges"] == [
        {"from": p, "to": a, "type": "parent"},
        {"from": a, "to": a1, "type": "parent"},
        {"from": p, "to": b, "type": "parent"},
        {"from": a, "to": b, "type": "dependency"},
        {"from": x, "to": b, "type": "dependency"},
    ]
    assert body["aggregate_status"] == {
        "total": 5,
        "by_status": {"draft": 4, "completed": 1},
        "completion_percentage": 20,
    }
    # A subtree's graph keeps the edge to its parent but not the parent node.
    sub = client.get(f"{API}/{a}/graph").json()
    assert [n["id"] for n in sub["nodes"]] == [a, a1]
    assert sub["edges"][0] == {"from": p, "to": a, "type": "parent"}


# -- dependency edits ---------------------------------------------------------------------


def test_add_and_remove_dependency(client: Any) -> None:
    a, b = create(client, title="A"), create(client, title="B")
    r = add_dep(client, a, b, 1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2
    assert body["depends_on"] == [b["id"]]
    assert body["parent_id"] is None
    assert "parent_intent_id" in body
    r = client.delete(f"{API}/{a['id']}/dependencies/{b['id']}", headers={"If-Match": "2"})
    assert r.status_code == 200
    assert r.json()["version"] == 3
    assert r.json()["depends_on"] == []
    # Removing what is not a dependency still bumps and logs, as the reference does.
    r = client.delete(f"{API}/{a['id']}/dependencies/{b['id']}", headers={"If-Match": "3"})
    assert r.status_code == 200
    assert r.json()["version"] == 4
    logged = [(e["event_type"], e["payload"], e["actor"]) for e in events(client, a)]
    assert logged[:3] == [
        ("dependency_removed", {"dependency_id": b["id"]}, DEV_KEY),
        ("dependency_removed", {"dependency_id": b["id"]}, DEV_KEY),
        ("dependency_added", {"dependency_id": b["id"]}, DEV_KEY),
    ]


def test_add_dependency_check_order(client: Any) -> None:
    a, b, c = create(client, title="A"), create(client, title="B"), create(client, title="C")
    url = f"{API}/{a['id']}/dependencies"
    # 422 body first, then 400 If-Match (even for an unknown intent), then the 404s.
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, json={"dependency_id": 1}, headers={"If-Match": "1"}).status_code == 422
    r = client.post(f"{API}/nope/dependencies", json={"dependency_id": b["id"]})
    assert r.status_code == 400
    assert r.json()["detail"] == "If-Match header required"
    r = add_dep(client, {"id": "nope"}, b, 1)
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    r = add_dep(client, a, "ghost", 1)
    assert r.status_code == 404
    assert r.json()["detail"] == "Dependency intent not found"
    assert add_dep(client, a, c, 1).status_code == 200
    # 409 version conflict comes before the duplicate check; neither mentions leases.
    r = add_dep(client, a, c, 1)
    assert r.status_code == 409
    assert r.json()["detail"] == "Version conflict"
    assert r.json()["current_version"] == 2
    assert "lease" not in r.text.lower()
    r = add_dep(client, a, c, 2)
    assert r.status_code == 400
    assert r.json()["detail"] == "Dependency already exists"
    assert get(client, a)["version"] == 2


def test_cycles_are_400_with_the_reference_text(client: Any) -> None:
    a, b, c = create(client, title="A"), create(client, title="B"), create(client, title="C")
    assert add_dep(client, b, a, 1).status_code == 200  # B -> A
    assert add_dep(client, c, b, 1).status_code == 200  # C -> B -> A
    r = add_dep(client, a, c, 1)  # A -> C would close A -> C -> B -> A
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["detail"] == f"Dependency would create cycle: {a['id']} -> {a['id']}"
    assert body["message"] == "Dependency would create cycle: " + " -> ".join(
        [a["id"], c["id"], b["id"], a["id"]]
    )
    r = add_dep(client, a, a, 1)
    assert r.status_code == 400
    assert r.json()["detail"] == f"Dependency would create cycle: {a['id']} -> {a['id']}"
    assert get(client, a)["version"] == 1
    assert get(client, a)["depends_on"] == []
    assert [e["event_type"] for e in events(client, a)] == ["intent_created"]


def test_remove_dependency_check_order(client: Any) -> None:
    a = create(client)
    r = client.delete(f"{API}/nope/dependencies/x")
    assert r.status_code == 400
    assert r.json()["detail"] == "If-Match header required"
    r = client.delete(f"{API}/nope/dependencies/x", headers={"If-Match": "1"})
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"
    r = client.delete(f"{API}/{a['id']}/dependencies/x", headers={"If-Match": "5"})
    assert r.status_code == 409
    assert r.json()["current_version"] == 1
    assert get(client, a)["version"] == 1


def test_dependency_endpoints_need_a_key(anon: Any) -> None:
    r = anon.post(f"{API}/x/dependencies", json={})
    assert r.status_code == 401
    assert anon.get(f"{API}/x/graph").status_code == 401


# -- completion gates (RFC-0002, enforced by IntentService.set_status) ---------------------


def test_parent_completes_only_after_its_children(client: Any) -> None:
    parent = create(client, title="P")
    kid = child(client, parent, "K")
    r = set_status(client, parent, "completed")
    assert r.status_code == 422, r.text
    assert kid["id"] in r.text
    assert "lease" not in r.text.lower()
    assert get(client, parent)["status"] == "draft"
    assert get(client, parent)["version"] == 1
    assert set_status(client, kid, "completed").status_code == 200
    assert set_status(client, parent, "completed").status_code == 200


def test_abandoned_child_blocks_completion_but_not_abandonment(client: Any) -> None:
    parent = create(client, title="P")
    kid = child(client, parent, "K")
    assert set_status(client, kid, "abandoned").status_code == 200
    assert set_status(client, parent, "completed").status_code == 422
    assert set_status(client, parent, "abandoned").status_code == 200


def test_dependent_completes_only_after_its_dependencies(client: Any) -> None:
    dep = create(client, title="D")
    parent = create(client, title="P")
    work = child(client, parent, "W", depends_on=[dep["id"]])
    assert set_status(client, work, "active").status_code == 200
    r = set_status(client, work, "completed")
    assert r.status_code == 422
    assert dep["id"] in r.text
    assert get(client, work)["status"] == "active"
    assert set_status(client, dep, "completed").status_code == 200
    assert set_status(client, work, "completed").status_code == 200
    # Completing again is an accepted no-op; the gate is not re-run.
    assert set_status(client, work, "completed").status_code == 200


# -- concurrency ---------------------------------------------------------------------------


def test_concurrent_opposite_dependencies_never_form_a_cycle(live_server: ServerProcess) -> None:
    async def run() -> list[tuple[int, int]]:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=AUTH) as c:
            pairs = []
            for n in range(8):
                a = (await c.post(API, json={"title": f"a{n}"})).json()
                b = (await c.post(API, json={"title": f"b{n}"})).json()
                pairs.append((a, b))

            async def link(x: dict[str, Any], y: dict[str, Any]) -> int:
                r = await c.post(
                    f"{API}/{x['id']}/dependencies",
                    json={"dependency_id": y["id"]},
                    headers={"If-Match": "1"},
                )
                return r.status_code

            codes = await asyncio.gather(
                *(link(a, b) for a, b in pairs), *(link(b, a) for a, b in pairs)
            )
            half = len(pairs)
            for a, b in pairs:
                deps = [(await c.get(f"{API}/{i['id']}")).json()["depends_on"] for i in (a, b)]
                assert not (deps[0] and deps[1]), "both directions stored: a cycle"
            return list(zip(codes[:half], codes[half:], strict=True))

    for pair in asyncio.run(run()):
        assert sorted(pair) == [200, 400], pair
