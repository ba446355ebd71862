"""The sync client over a mock transport: headers, retries, idempotency keys, parsing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openintent.client import OpenIntentClient
from openintent.exceptions import ConflictError, LeaseConflictError, NotFoundError
from openintent.models import EventType, IntentStatus

INTENT = {
    "id": "i1",
    "title": "T",
    "description": "",
    "created_by": "k",
    "parent_id": "p0",
    "depends_on": [],
    "constraints": {},
    "state": {"a": 1},
    "status": "draft",
    "confidence": 0.0,
    "version": 1,
    "governance_policy": None,
    "created_at": "2026-11-26T08:18:49.308253",
    "updated_at": "2026-11-26T08:18:49.308256",
}


def make(transport: httpx.MockTransport, **kw: Any) -> OpenIntentClient:
    kw.setdefault("retry_backoff", 0.0)
    return OpenIntentClient("http://test/", "key-1", "agent-a", transport=transport, **kw)


def test_default_headers_and_base_url(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.json(200, INTENT)
    with make(transport) as client:
        intent = client.get_intent("i1")
    assert client.base_url == "http://test"
    request = recorder.last
    assert str(request.url) == "http://test/api/v1/intents/i1"
    assert request.headers["X-API-Key"] == "key-1"
    assert request.headers["X-Agent-ID"] == "agent-a"
    assert intent.parent_intent_id == "p0"
    assert intent.state["a"] == 1


def test_readme_constructor_without_agent_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENINTENT_AGENT_ID", raising=False)
    client = OpenIntentClient(base_url="http://x", api_key="k")
    assert (client.api_key, client.agent_id) == ("k", "anonymous")
    monkeypatch.setenv("OPENINTENT_API_KEY", "from-env")
    monkeypatch.setenv("OPENINTENT_AGENT_ID", "env-agent")
    client = OpenIntentClient("http://x")
    assert (client.api_key, client.agent_id) == ("from-env", "env-agent")


def test_if_match_on_guarded_writes(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.json(200, {**INTENT, "version": 2})
    client = make(transport)
    intent = client.set_status("i1", 1, "completed")
    assert recorder.last.headers["If-Match"] == "1"
    assert recorder.body() == {"status": "completed"}
    assert intent.version == 2


def test_error_mapping_through_the_client(recorder: Any, transport: httpx.MockTransport) -> None:
    client = make(transport)
    recorder.reply(httpx.Response(404, json={"detail": "Intent not found"}))
    with pytest.raises(NotFoundError, match="Intent not found") as not_found:
        client.get_intent("nope")
    assert not_found.value.response == {"detail": "Intent not found"}
    recorder.responses[:] = [httpx.Response(409, json={"detail": "Version conflict"})]
    with pytest.raises(ConflictError):
        client.update_state("i1", 9, {"a": 1})
    recorder.responses[:] = [httpx.Response(409, json={"detail": "Lease already held"})]
    with pytest.raises(LeaseConflictError):
        client.acquire_lease("i1", "s")


def test_idempotent_get_is_retried_after_read_error(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(
        httpx.ReadError("boom"), httpx.ReadError("boom"), httpx.Response(200, json=INTENT)
    )
    assert make(transport).get_intent("i1").id == "i1"
    assert len(recorder.requests) == 3


def test_retries_are_bounded(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.reply(httpx.ReadError("boom"))
    with pytest.raises(httpx.ReadError):
        make(transport, max_retries=2).get_intent("i1")
    assert len(recorder.requests) == 3


def test_non_idempotent_post_is_never_blindly_retried(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(httpx.ReadError("lost answer"), httpx.Response(200, json=INTENT))
    with pytest.raises(httpx.ReadError):
        make(transport).create_intent("T")
    assert len(recorder.requests) == 1


def test_post_is_retried_when_it_never_left(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.reply(httpx.ConnectError("refused"), httpx.Response(200, json=INTENT))
    assert make(transport).create_intent("T").id == "i1"
    assert len(recorder.requests) == 2


def test_idempotency_key_makes_creates_retryable_with_one_key(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(httpx.ReadError("lost answer"), httpx.Response(200, json=INTENT))
    assert make(transport, idempotency_keys=True).create_intent("T").id == "i1"
    keys = {r.headers["Idempotency-Key"] for r in recorder.requests}
    assert len(recorder.requests) == 2
    assert len(keys) == 1
    recorder.responses[:] = [
        httpx.Response(200, json={"id": "e", "intent_id": "i1", "event_type": "x"})
    ]
    make(transport, idempotency_keys=True).log_event("i1", "x")
    assert "Idempotency-Key" not in recorder.last.headers  # not a create


def test_lists_accept_bare_arrays_and_wrapped_objects(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    lease = {"id": "L", "intent_id": "i1", "agent_id": "k", "scope": "s",
             "acquired_at": "2026-01-01T00:00:00", "expires_at": "2999-01-01T00:00:00",
             "released_at": None}  # fmt: skip
    client = make(transport)
    recorder.json(200, [lease])
    assert [x.id for x in client.get_leases("i1")] == ["L"]
    recorder.responses[:] = [httpx.Response(200, json={"leases": [lease]})]
    assert [x.id for x in client.get_leases("i1")] == ["L"]
    recorder.responses[:] = [httpx.Response(200, json={"children": [INTENT]})]
    assert [x.id for x in client.get_children("i1")] == ["i1"]
    recorder.responses[:] = [httpx.Response(200, json=[INTENT])]
    assert [x.id for x in client.get_children("i1")] == ["i1"]


def test_unknown_event_types_and_extra_keys_never_break_a_read(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    rows = [
        {"id": "1", "intent_id": "i1", "event_type": "lease_renewed", "actor": "k",
         "payload": {}, "created_at": "2026-01-01T00:00:00", "brand_new_key": [1, 2]},
        {"id": "2", "intent_id": "i1", "event_type": "comment", "payload": {"x": 1}},
    ]  # fmt: skip
    recorder.json(200, rows)
    events = make(transport).get_events("i1")
    assert [e.event_type for e in events] == ["lease_renewed", EventType.COMMENT]
    recorder.responses[:] = [httpx.Response(200, json={**INTENT, "future_field": {"x": 1}})]
    assert make(transport).get_intent("i1").status is IntentStatus.DRAFT


def test_empty_answers(recorder: Any, transport: httpx.MockTransport) -> None:
    client = make(transport)
    recorder.reply(httpx.Response(204))
    assert client.delete_attachment("i1", "a1") is None
    assert client.approve_approval("i1", "a1") == {}


def test_retry_policy_404_is_none(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.reply(httpx.Response(404, json={"detail": "No retry policy set"}))
    assert make(transport).get_retry_policy("i1") is None


def test_patch_state_reads_the_version_first(recorder: Any, transport: httpx.MockTransport) -> None:
    recorder.reply(
        httpx.Response(200, json={**INTENT, "version": 5}),
        httpx.Response(200, json={**INTENT, "version": 6}),
    )
    assert make(transport).patch_state("i1", {"k": "v"}).version == 6
    assert recorder.requests[1].headers["If-Match"] == "5"


def test_complete_intent_patches_then_completes(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(
        httpx.Response(200, json={**INTENT, "version": 2}),
        httpx.Response(200, json={**INTENT, "version": 3}),
        httpx.Response(200, json={**INTENT, "version": 4, "status": "completed"}),
    )
    done = make(transport).complete_intent("i1", {"result": 1})
    assert done.status is IntentStatus.COMPLETED
    assert [r.method for r in recorder.requests] == ["GET", "POST", "POST"]
    assert [r.headers.get("If-Match") for r in recorder.requests] == [None, "2", "3"]


def test_list_coordinator_leases_without_intent_sends_nothing(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    assert make(transport).list_coordinator_leases() == []
    assert recorder.requests == []


def test_decision_records_fall_back_to_the_reference_path(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(
        httpx.Response(404, json={"detail": "Not Found"}), httpx.Response(200, json=[{"id": "d"}])
    )
    assert make(transport).list_decision_records("i1") == [{"id": "d"}]
    assert [r.url.path for r in recorder.requests] == [
        "/api/v1/intents/i1/coordinator-decisions",
        "/api/v1/intents/i1/decisions",
    ]


def test_lease_context_manager_releases_on_exception(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    lease = {"id": "L", "intent_id": "i1", "agent_id": "k", "scope": "s",
             "expires_at": "2999-01-01T00:00:00"}  # fmt: skip
    recorder.reply(httpx.Response(200, json=lease), httpx.Response(500, text="oops"))
    client = make(transport)

    def work() -> None:
        with client.lease("i1", "s") as held:
            assert held.id == "L"
            raise RuntimeError("body failed")

    with pytest.raises(RuntimeError, match="body failed"):
        work()
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("POST", "/api/v1/intents/i1/leases"),
        ("DELETE", "/api/v1/intents/i1/leases/L"),
    ]


def test_lease_conflict_propagates_before_the_body(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    recorder.reply(httpx.Response(409, json={"detail": "Lease already held for this scope"}))
    with pytest.raises(LeaseConflictError), make(transport).lease("i1", "s"):
        pytest.fail("body must not run")
    assert len(recorder.requests) == 1


def test_namespaces_are_views_over_the_same_calls(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    task = {"id": "t1", "intent_id": "i1", "name": "n", "version": 3, "status": "pending"}
    recorder.reply(
        httpx.Response(200, json={**task, "assigned_agent": "bob"}),
        httpx.Response(200, json=task),
        httpx.Response(200, json={**task, "status": "completed", "version": 4}),
    )
    client = make(transport)
    assert client.tasks.create("i1", "n", assigned_to="bob").id == "t1"
    assert recorder.body(0) == {"intent_id": "i1", "name": "n", "assigned_agent": "bob"}
    done = client.tasks.update_status("t1", "completed", result={"ok": True})
    assert done.version == 4
    assert recorder.requests[2].headers["If-Match"] == "3"
    assert recorder.body(2) == {"status": "completed", "output": {"ok": True}}


def test_task_assignment_is_patched_when_create_ignores_it(
    recorder: Any, transport: httpx.MockTransport
) -> None:
    task = {"id": "t1", "intent_id": "i1", "name": "n", "version": 1, "status": "pending"}
    recorder.reply(
        httpx.Response(200, json=task),  # the reference ignores assigned_agent on create
        httpx.Response(200, json={**task, "version": 2, "assigned_agent": "bob"}),
    )
    created = make(transport).tasks.create(parent_intent_id="i1", title="n", assign_to="bob")
    assert created.assigned_agent == "bob"
    assert recorder.requests[1].method == "PATCH"
    assert recorder.body(1) == {"status": "pending", "assigned_agent": "bob"}


def test_memory_store_upserts_by_key(recorder: Any, transport: httpx.MockTransport) -> None:
    entry = {"id": "m1", "agent_id": "a", "namespace": "default", "key": "k",
             "value": {"value": 1}, "memory_type": "episodic", "version": 2}  # fmt: skip
    recorder.reply(httpx.Response(200, json=[]), httpx.Response(200, json=entry))
    client = make(transport)
    assert client.memory.store("a", "k", 1, tags=["t"]).id == "m1"
    assert recorder.body(1) == {"agent_id": "a", "namespace": "default", "key": "k",
                                "value": {"value": 1}, "memory_type": "episodic", "tags": ["t"]}  # fmt: skip
    recorder.requests.clear()
    recorder.responses[:] = [httpx.Response(200, json=[entry]), httpx.Response(200, json=entry)]
    client.memory.store("a", "k", {"x": 2})
    assert recorder.requests[1].method == "PATCH"
    assert recorder.requests[1].headers["If-Match"] == "2"
