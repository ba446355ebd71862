"""Bad input, case by case: a 4xx JSON error in the protocol's shape, nothing stored.

Each case runs against an intent with some state and events; afterwards the intent, its
event log and the number of intents read back exactly as before. Error shape (spec README C5): ``detail`` as
the reference has it (text, or a list of ``{type, loc, msg}`` items on 422) plus our
``message``. The cases include inputs the stores cannot hold (U+0000, lone surrogates,
integers past 64 bits, NaN, deep nesting), which used to answer 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
from litestar import Response, get
from litestar.exceptions import InternalServerException
from litestar.testing import TestClient

from openintent.server import ServerConfig, create_app
from openintent.server.testing import DEV_KEY, ServerProcess, fresh_database_url

AUTH = {"X-API-Key": DEV_KEY}
INTENTS = "/api/v1/intents"


@attrs.frozen
class Bad:
    """One bad request: ``{iid}`` in ``path`` is the seeded intent."""

    method: str
    path: str
    status: int
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str | bytes] = attrs.Factory(dict)
    detail: str | None = None  # exact text of a string ``detail``
    loc: tuple[Any, ...] | None = None  # ``loc`` of the first validation item


V1 = {"If-Match": "1"}
PATCH = {"patches": [{"op": "set", "path": "/a", "value": 1}]}
STATE, STATUS, EVENTS, AGENTS = "{iid}/state", "{iid}/status", "{iid}/events", "{iid}/agents"
GOVERNANCE = "{iid}/governance"
UNKNOWN = f"{INTENTS}/nope"
NOT_FOUND = "Intent not found"
NO_IF_MATCH = "If-Match header required"
JSON = {"Content-Type": "application/json"}


def _with(state: str) -> bytes:
    """A create body whose ``state`` is the given raw JSON text."""
    return ('{"title": "x", "state": ' + state + "}").encode()


def _if_match(value: str | bytes, status: int = 400, path: str = STATE, **kw: Any) -> Bad:
    detail = NO_IF_MATCH if status == 400 else "Version conflict"
    return Bad(
        "POST", path, status, json=kw.pop("json", PATCH), headers={"If-Match": value}, detail=detail
    )


CASES: dict[str, Bad] = {
    # malformed JSON
    "json-truncated": Bad("POST", INTENTS, 422, content=b'{"title": "x",'),
    "json-garbage-state": Bad("POST", STATE, 422, content=b"{bad", headers=V1),
    "json-not-utf8": Bad("POST", EVENTS, 422, content=b'{"event_type": "\xff"}'),
    "json-nan": Bad("POST", INTENTS, 422, content=_with('{"a": NaN}')),
    "json-infinity": Bad("POST", INTENTS, 422, content=_with('{"a": 1e999}')),
    "json-huge-int": Bad("POST", INTENTS, 422, content=_with('{"a": ' + "9" * 5000 + "}")),
    "json-deep": Bad("POST", INTENTS, 422, content=_with("[" * 5000 + "]" * 5000)),
    "json-deeper-than-limit": Bad("POST", INTENTS, 422, content=_with("[" * 150 + "]" * 150)),
    "empty-body": Bad("POST", INTENTS, 422, content=b"", loc=("body",)),
    # JSON that is not an object
    "array-body": Bad("POST", INTENTS, 422, json=[{"title": "x"}], loc=("body",)),
    "string-body": Bad("POST", INTENTS, 422, json="title"),
    "number-body": Bad("POST", STATUS, 422, json=42, headers=V1),
    "null-body": Bad("POST", EVENTS, 422, content=b"null"),
    # wrong scalar types
    "title-int": Bad("POST", INTENTS, 422, json={"title": 5}, loc=("body", "title")),
    "title-bool": Bad("POST", INTENTS, 422, json={"title": True}, loc=("body", "title")),
    "description-int": Bad("POST", INTENTS, 422, json={"title": "x", "description": 1}),
    "state-list": Bad("POST", INTENTS, 422, json={"title": "x", "state": [1]}),
    "depends-on-string": Bad("POST", INTENTS, 422, json={"title": "x", "depends_on": "a"}),
    "status-int": Bad("POST", STATUS, 422, json={"status": 1}, headers=V1),
    "patches-object": Bad("POST", STATE, 422, json={"patches": {"a": 1}}, headers=V1),
    "agent-id-int": Bad("POST", AGENTS, 422, json={"agent_id": 5}),
    "event-payload-string": Bad("POST", EVENTS, 422, json={"event_type": "x", "payload": "y"}),
    # missing required fields
    "no-title": Bad("POST", INTENTS, 422, json={"description": "x"}, loc=("body", "title")),
    "empty-object": Bad("POST", INTENTS, 422, json={}, loc=("body", "title")),
    "no-status": Bad("POST", STATUS, 422, json={"reason": "x"}, headers=V1),
    "no-agent-id": Bad("POST", AGENTS, 422, json={"role": "worker"}),
    # unknown enum values (closed enums)
    "create-status-bogus": Bad("POST", INTENTS, 422, json={"title": "x", "status": "bogus"}),
    "status-bogus": Bad("POST", STATUS, 422, json={"status": "bogus"}, headers=V1),
    "patch-op-bogus": Bad(
        "POST", STATE, 422, json={"patches": [{"op": "x", "path": "/a"}]}, headers=V1
    ),
    "list-status-bogus": Bad("GET", f"{INTENTS}?status=bogus", 422, loc=("query", "status")),
    # values no store can hold
    "title-nul": Bad("POST", INTENTS, 422, content=b'{"title": "a\\u0000"}', loc=("body", "title")),
    "title-surrogate": Bad(
        "POST", INTENTS, 422, content=b'{"title": "\\ud800"}', loc=("body", "title")
    ),
    "state-key-surrogate": Bad("POST", INTENTS, 422, content=_with('{"\\udc00": 1}')),
    "event-type-nul": Bad("POST", EVENTS, 422, content=b'{"event_type": "a\\u0000"}'),
    "lease-duration-2**64": Bad(
        "POST", "{iid}/leases", 422, json={"scope": "s", "duration_seconds": 2**64}
    ),
    # a plain-dict body (no CattrsDTO) goes through the same rules
    "dict-body-deep": Bad("PUT", GOVERNANCE, 422, content=b"[" * 5000 + b"]" * 5000, headers=V1),
    "dict-body-nan": Bad("PUT", GOVERNANCE, 422, content=b'{"max_cost": NaN}', headers=V1),
    "dict-body-surrogate": Bad("PUT", GOVERNANCE, 422, content=b'{"\\ud800": 1}', headers=V1),
    "dict-body-text-plain": Bad(
        "PUT", GOVERNANCE, 422, content=b"{}", headers={**V1, "Content-Type": "text/plain"}
    ),
    # wrong Content-Type
    "text-plain": Bad(
        "POST", INTENTS, 422, content=b'{"title": "x"}', headers={"Content-Type": "text/plain"}
    ),
    "form": Bad(
        "POST",
        INTENTS,
        422,
        content=b"title=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "multipart": Bad(
        "POST",
        EVENTS,
        422,
        content=b"--b--",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    "xml": Bad(
        "POST", STATE, 422, content=b"<patches/>", headers={**V1, "Content-Type": "application/xml"}
    ),
    # unknown ids: 404 with the reference's text
    "get-unknown": Bad("GET", UNKNOWN, 404, detail=NOT_FOUND),
    "state-unknown": Bad("POST", f"{UNKNOWN}/state", 404, json=PATCH, headers=V1, detail=NOT_FOUND),
    "status-unknown": Bad(
        "POST", f"{UNKNOWN}/status", 404, json={"status": "active"}, headers=V1, detail=NOT_FOUND
    ),
    "event-unknown": Bad(
        "POST", f"{UNKNOWN}/events", 404, json={"event_type": "x"}, detail=NOT_FOUND
    ),
    "assign-unknown": Bad(
        "POST", f"{UNKNOWN}/agents", 404, json={"agent_id": "a"}, detail=NOT_FOUND
    ),
    # an id no column can hold (U+0000) names nothing
    "id-with-nul": Bad("GET", f"{INTENTS}/a%00b", 404),
    "id-with-nul-write": Bad("POST", f"{INTENTS}/a%00b/events", 404, json={"event_type": "x"}),
    # If-Match: missing, garbage, stale (C6)
    "if-match-missing": Bad("POST", STATE, 400, json=PATCH, detail=NO_IF_MATCH),
    "if-match-missing-status": Bad(
        "POST", STATUS, 400, json={"status": "active"}, detail=NO_IF_MATCH
    ),
    "if-match-missing-unknown-id": Bad(
        "POST", f"{UNKNOWN}/state", 400, json=PATCH, detail=NO_IF_MATCH
    ),
    "if-match-quoted": _if_match('"1"'),
    "if-match-weak": _if_match('W/"1"'),
    "if-match-word": _if_match("abc"),
    "if-match-negative": _if_match("-1"),
    "if-match-superscript": _if_match("\u00b2".encode("latin-1")),
    "if-match-stale": _if_match("7", 409),
    "if-match-stale-status": _if_match("0", 409, STATUS, json={"status": "active"}),
    "if-match-huge": _if_match("9" * 40, 409),
    # the body is checked before If-Match (C5: 422 before 400)
    "bad-body-no-if-match": Bad("POST", f"{UNKNOWN}/state", 422, json={"patches": 1}),
    # query parameters out of range
    "events-limit-0": Bad("GET", "{iid}/events?limit=0", 422, loc=("query", "limit")),
    "events-limit-1001": Bad("GET", "{iid}/events?limit=1001", 422, loc=("query", "limit")),
    "events-limit-word": Bad("GET", "{iid}/events?limit=ten", 422, loc=("query", "limit")),
    "events-offset-negative": Bad("GET", "{iid}/events?offset=-1", 422, loc=("query", "offset")),
    "events-offset-2**70": Bad(
        "GET", f"{{iid}}/events?offset={2**70}", 422, loc=("query", "offset")
    ),
    "events-since-garbage": Bad("GET", "{iid}/events?since=yesterday", 422, loc=("query", "since")),
    "events-since-overflow": Bad(
        "GET", "{iid}/events?since=0001-01-01T00:00%2B14:00", 422, loc=("query", "since")
    ),
    "events-type-nul": Bad("GET", "{iid}/events?event_type=a%00", 422, loc=("query", "event_type")),
    "list-offset-2**64": Bad("GET", f"{INTENTS}?offset={2**64}", 422, loc=("query", "offset")),
    "list-limit-0": Bad("GET", f"{INTENTS}?limit=0", 422, loc=("query", "limit")),
    # routes and methods
    "unknown-route": Bad("GET", "/api/v1/nope", 404, detail="Not Found"),
    "unknown-root": Bad("POST", "/nope", 404, json={"a": 1}, detail="Not Found"),
    "docs-unknown-page": Bad("GET", "/docs/nope", 404, detail="Not Found"),
    "method-not-allowed": Bad("DELETE", INTENTS, 405, detail="Method Not Allowed"),
    "method-not-allowed-item": Bad(
        "PATCH", "{iid}", 405, json={"title": "y"}, detail="Method Not Allowed"
    ),
}


def _url(path: str, iid: str) -> str:
    return path.replace("{iid}", f"{INTENTS}/{iid}")


def _snapshot(client: TestClient[Any], iid: str) -> tuple[Any, Any, int]:
    intent = client.get(f"{INTENTS}/{iid}").json()
    events = client.get(f"{INTENTS}/{iid}/events").json()
    total = client.get(INTENTS, params={"limit": 1000}).json()["total"]
    return intent, events, total


@pytest.fixture(scope="class")
def shared() -> Iterator[tuple[TestClient[Any], str]]:
    """One app and one seeded intent for every case: a case that stored anything would
    fail its own before/after comparison, so sharing them loses nothing. Class-scoped:
    the store binds its tables process-wide, so it must close before the next app opens."""
    with fresh_database_url() as url, TestClient(create_app(ServerConfig(database_url=url))) as c:
        c.headers.update(AUTH)
        created = c.post(INTENTS, json={"title": "target", "state": {"a": 0, "b": {"c": [1]}}})
        assert created.status_code == 200, created.text
        iid: str = created.json()["id"]
        note = c.post(f"{INTENTS}/{iid}/events", json={"event_type": "note", "payload": {"n": 1}})
        assert note.status_code == 200, note.text
        yield c, iid


def assert_protocol_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str), body
    assert body["message"], body
    detail = body["detail"]
    if status == 422:
        assert isinstance(detail, list), body
        assert detail, body
        for item in detail:
            assert {"type", "loc", "msg"} <= item.keys(), item
            assert item["loc"][0] in ("body", "query", "path", "header"), item
    elif status != 403:
        assert isinstance(detail, str), body
    if status == 409:
        assert "lease" not in json.dumps(body).lower()  # else the reference client misreads it
    return body


class TestBadRequests:
    @pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
    def test_is_a_4xx_json_error_and_stores_nothing(
        self, shared: tuple[TestClient[Any], str], case: Bad
    ) -> None:
        client, seeded = shared
        before = _snapshot(client, seeded)
        kwargs: dict[str, Any] = {"headers": case.headers}
        if case.content is not None:
            kwargs["content"] = case.content
            kwargs["headers"] = {**JSON, **case.headers}
        elif case.json is not None:
            kwargs["json"] = case.json
        response = client.request(case.method, _url(case.path, seeded), **kwargs)
        body = assert_protocol_error(response, case.status)
        if case.detail is not None:
            assert body["detail"] == case.detail
        if case.loc is not None:
            assert tuple(body["detail"][0]["loc"][: len(case.loc)]) == case.loc, body
        if case.status == 409:
            assert body["current_version"] == 1
        if case.status == 405:
            assert "allow" in response.headers
        assert _snapshot(client, seeded) == before


def test_key_check_comes_before_body_validation(anon: TestClient[Any]) -> None:
    response = anon.post(INTENTS, content=b"{bad", headers={"Content-Type": "application/json"})
    body = assert_protocol_error(response, 401)
    assert body["detail"] == "Invalid or missing API key"
    assert_protocol_error(anon.get(f"{INTENTS}/a%00b"), 401)


def test_json_content_types_that_are_accepted(client: TestClient[Any]) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json", None):
        headers = {"Content-Type": content_type} if content_type else {}
        request = client.build_request("POST", INTENTS, content=b'{"title": "ok"}', headers=headers)
        assert request.headers.get("content-type") == content_type
        assert client.send(request).status_code == 200, content_type


def test_free_form_values_the_stores_can_hold_are_kept(client: TestClient[Any]) -> None:
    """The checks refuse only what cannot be stored: U+0000 inside free-form JSON is fine."""
    deep: Any = 1
    for _ in range(90):
        deep = [deep]
    created = client.post(
        INTENTS,
        content=json.dumps(
            {"title": "x", "state": {"nul": "a\u0000b", "deep": deep, "big": 2**70}}
        ),
        headers=JSON,
    )
    assert created.status_code == 200, created.text
    state = client.get(f"{INTENTS}/{created.json()['id']}").json()["state"]
    assert state == {"nul": "a\u0000b", "deep": deep, "big": 2**70}


def test_oversized_body_is_413_json_and_stores_nothing(database_url: str) -> None:
    app = create_app(ServerConfig(database_url=database_url, max_body_size=1024))
    with TestClient(app) as client:
        client.headers.update(AUTH)
        small = client.post(INTENTS, json={"title": "x" * 900})
        assert small.status_code == 200, small.text
        big = client.post(INTENTS, json={"title": "x" * 2000})
        body = assert_protocol_error(big, 413)
        assert body["detail"] == "Request Entity Too Large"
        assert client.get(INTENTS).json()["total"] == 1


def test_default_body_limit_is_10_mib() -> None:
    assert ServerConfig().max_body_size == 10 * 1024 * 1024
    assert ServerConfig.from_env({"OPENINTENT_MAX_BODY_SIZE": "2048"}).max_body_size == 2048


def test_oversized_body_is_413_on_a_real_server(database_url: str) -> None:
    """Through granian, with and without Content-Length (chunked upload)."""
    payload = json.dumps({"title": "y" * 10_000}).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 1000):
            yield payload[i : i + 1000]

    with (
        ServerProcess(database_url, extra_args=("--max-body-size", "4096")) as srv,
        httpx.Client(base_url=srv.base_url, headers=AUTH, timeout=10) as c,
    ):
        assert_protocol_error(c.post(INTENTS, content=payload, headers=JSON), 413)
        refused = c.post(INTENTS, content=chunks(), headers=JSON)
        assert_protocol_error(refused, 413)
        # the unread rest of the body makes the connection unusable: the client is told
        assert refused.headers["connection"] == "close"
        assert c.get(INTENTS).json()["total"] == 0
        assert c.post(INTENTS, json={"title": "fits"}).status_code == 200


@get("/test-only/boom", sync_to_thread=False)
def _boom() -> None:
    raise RuntimeError("unexpected")


@get("/test-only/litestar-500", sync_to_thread=False)
def _litestar_500() -> None:
    raise InternalServerException()


@get("/test-only/plain-400", sync_to_thread=False)
def _plain_400() -> Response[str]:
    return Response("nope", status_code=400, media_type="text/plain")


def test_unexpected_errors_are_json_never_plain_text(database_url: str) -> None:
    app = create_app(ServerConfig(database_url=database_url))
    for handler in (_boom, _litestar_500, _plain_400):
        app.register(handler)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, status in [("boom", 500), ("litestar-500", 500), ("plain-400", 400)]:
            response = client.get(f"/test-only/{path}")
            assert response.status_code == status
            assert response.headers["content-type"].startswith("application/json")
            body = response.json()
            assert isinstance(body["detail"], str)
            assert isinstance(body["message"], str)
        assert client.get("/test-only/boom").json()["detail"] == "Internal Server Error"


def test_openapi_describes_bodies_errors_and_the_key(client: TestClient[Any]) -> None:
    doc = client.get("/openapi.json").json()
    create = doc["paths"][INTENTS]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "title" in body_schema["required"]
    assert create["security"] == [{"APIKeyHeader": []}]
    assert doc["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    error = create["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ProtocolError")
    assert create["responses"]["200"]["content"]["application/json"]["schema"] == {}
    assert "security" not in doc["paths"]["/.well-known/openintent.json"]["get"]
    # wire names, not attribute names (CostCreateRequest keeps cost_metadata either way)
    for name, schema in doc["components"]["schemas"].items():
        assert not any(key.startswith("_") for key in schema.get("properties", {})), name
