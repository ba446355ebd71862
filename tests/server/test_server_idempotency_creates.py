"""``Idempotency-Key`` on the creates of governance, access control, tasks and plans,
coordinator leases and decision records, and triggers.

A real server process on loopback: a create repeated with the same key answers the
first result and stores one object; the same key from another API key is another
caller's and creates its own; without the header every request creates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from openintent.server.testing import ServerProcess, fresh_database_url

KEYS = ("dev-user-key", "agent-research-key")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with fresh_database_url() as url, ServerProcess(url, api_keys=",".join(KEYS)) as srv:
        yield srv.base_url


def _http(base_url: str, api_key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=30)


@pytest.fixture
def http(base_url: str) -> Iterator[Callable[[str], httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(api_key: str = KEYS[0]) -> httpx.Client:
        opened.append(_http(base_url, api_key))
        return opened[-1]

    yield make
    for client in opened:
        client.close()


def _intent(client: httpx.Client) -> str:
    r = client.post("/api/v1/intents", json={"title": f"idem-{uuid.uuid4().hex[:8]}"})
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


# name -> (path of the create for an intent, body, id key, count of stored objects)
Count = Callable[[httpx.Client, str], int]
Case = tuple[Callable[[str], str], dict[str, Any], str, Count | None]


def _count(path: str, key: str | None = None) -> Callable[[httpx.Client, str], int]:
    def count(client: httpx.Client, intent_id: str) -> int:
        r = client.get(path.format(intent_id=intent_id))
        assert r.status_code == 200, r.text
        data = r.json()
        return len(data[key] if key else data)

    return count


NAMESPACE = f"idem-{uuid.uuid4().hex[:8]}"

CASES: dict[str, Case] = {
    "escalation": (
        lambda i: f"/api/v1/intents/{i}/escalations",
        {"reason": "stuck"},
        "id",
        lambda c, i: len(
            c.get("/api/v1/escalations", params={"intent_id": i}).json()["escalations"]
        ),
    ),
    "approval": (
        lambda i: f"/api/v1/intents/{i}/approvals",
        {"action": "deploy"},
        "id",
        None,  # approvals have no listing: the ids tell
    ),
    "acl_entry": (
        lambda i: f"/api/v1/intents/{i}/acl/entries",
        {"principal_id": "agent-b", "permission": "read"},
        "id",
        _count("/api/v1/intents/{intent_id}/acl", "entries"),
    ),
    "access_request": (
        lambda i: f"/api/v1/intents/{i}/access-requests",
        {"principal_id": "agent-z", "requested_permission": "write"},
        "id",
        _count("/api/v1/intents/{intent_id}/access-requests", "access_requests"),
    ),
    "task": (
        lambda i: "/api/v1/tasks",
        {"name": "t"},
        "id",
        _count("/api/v1/intents/{intent_id}/tasks"),
    ),
    "plan": (
        lambda i: "/api/v1/plans",
        {},
        "id",
        _count("/api/v1/intents/{intent_id}/plans"),
    ),
    "coordinator_lease": (
        lambda i: "/api/v1/coordinators",
        {"agent_id": "coordinator-1"},
        "id",
        _count("/api/v1/intents/{intent_id}/coordinators"),
    ),
    "decision_record": (
        lambda i: "/api/v1/decisions",
        {"coordinator_id": "c", "decision_type": "plan_created", "summary": "s", "rationale": "r"},
        "id",
        _count("/api/v1/intents/{intent_id}/decisions"),
    ),
    "trigger": (
        lambda i: "/api/v1/triggers",
        {"name": "t", "type": "webhook", "namespace": NAMESPACE},
        "trigger_id",
        lambda c, i: len(c.get("/api/v1/triggers", params={"namespace": NAMESPACE}).json()),
    ),
}


#: Creates whose body names the intent.
INTENT_IN_BODY = {"task", "plan", "coordinator_lease", "decision_record"}
#: Creates of which an intent holds one at a time (a coordinator lease).
SINGLE = {"coordinator_lease"}


def _post(client: httpx.Client, path: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    r = client.post(path, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_key_answers_the_first_result_and_stores_one(
    name: str, http: Callable[[str], httpx.Client]
) -> None:
    path, body, ident, count = CASES[name]
    mine, theirs = http(KEYS[0]), http(KEYS[1])
    intent_id = _intent(mine)
    if name in INTENT_IN_BODY:
        body = {**body, "intent_id": intent_id}
    if name == "trigger":  # one namespace per run of the case
        body = {**body, "namespace": f"{NAMESPACE}-{uuid.uuid4().hex[:6]}"}
        count = _trigger_count(body["namespace"])
    stored = count or (lambda client, intent_id: 0)
    before = stored(mine, intent_id)
    key = uuid.uuid4().hex
    first = _post(mine, path(intent_id), body, key)
    again = _post(mine, path(intent_id), body, key)
    assert again == first
    assert stored(mine, intent_id) == before + (count is not None)
    if name in SINGLE:  # a second one is refused: the key is what makes the repeat work
        r = theirs.post(path(intent_id), json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 409, r.text
        return
    if name != "acl_entry":  # granting needs admin on the intent: only its creator has it
        other = _post(theirs, path(intent_id), body, key)  # another caller's key
        assert other[ident] != first[ident]
        assert stored(mine, intent_id) == before + 2 * (count is not None)
    unkeyed = [_post(mine, path(intent_id), body, None)[ident] for _ in range(2)]
    assert len({first[ident], *unkeyed}) == 3


def _trigger_count(namespace: str) -> Callable[[httpx.Client, str], int]:
    def count(client: httpx.Client, intent_id: str) -> int:
        return len(client.get("/api/v1/triggers", params={"namespace": namespace}).json())

    return count
