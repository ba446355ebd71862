"""RFC-0014 over HTTP: vaults, credentials (sealed secrets), grants (scopes, expiry,
revocation, suspension, delegation, rate limits), the tool proxy against a stub upstream
on loopback (adapters, host checks with DNS, timeouts, error mapping), invocation
records and the tool registry."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar.testing import TestClient

from openintent.core.converter import utcnow
from openintent.server import ServerConfig, create_app
from openintent.server.services.secrets import SecretsUnavailable, load_box
from openintent.server.testing import DEV_KEY, ServerProcess

SECRET = "sk_live_vault_test_5c1d9e"
KEY = "test-secret-key-0123456789abcdef"
AUTH = {"X-API-Key": DEV_KEY}
OTHER = {"X-API-Key": "agent-synth-key", "X-Agent-ID": "intruder"}


# -- a stub upstream on loopback ---------------------------------------------------------


class Upstream:
    """Answers by path: ``/status/<n>``, ``/slow``, ``/big``, ``/text``, ``/redirect``,
    ``/token`` (OAuth2), ``/oauth/...`` (401 unless the refreshed token); anything else
    echoes the request. Every request is kept in ``seen``."""

    FRESH = "fresh-token-4e1f0c2a"

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = {
                    "method": self.command,
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": dict(self.headers.items()),
                    "body": body.decode(errors="replace"),
                }
                outer.seen.append(record)
                path = parts.path
                if path == "/slow":
                    time.sleep(2.5)
                    return self._send(200, {"late": True})
                if path.startswith("/status/"):
                    return self._send(int(path.rsplit("/", 1)[1]), {"echo": record})
                if path == "/big":
                    return self._send(200, {"blob": "x" * (2 * 1024 * 1024)})
                if path == "/text":
                    return self._raw(200, b"plain words", "text/plain")
                if path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if path == "/token":
                    return self._send(200, {"access_token": Upstream.FRESH, "token_type": "bearer"})
                fresh = record["headers"].get("Authorization") == f"Bearer {Upstream.FRESH}"
                if path.startswith("/oauth/") and not fresh:
                    return self._send(401, {"error": "expired"})
                return self._send(200, record)

            def _send(self, code: int, doc: Any) -> None:
                self._raw(code, json.dumps(doc).encode(), "application/json")

            def _raw(self, code: int, data: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    stub = Upstream()
    yield stub
    stub.close()


def _app(database_url: str, **config: Any) -> TestClient:  # type: ignore[type-arg]
    return TestClient(create_app(ServerConfig(database_url=database_url, **config)))


@pytest.fixture
def vc(database_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A server with a secret key that may call 127.0.0.1 (the stub upstream)."""
    with _app(database_url, secret_key=KEY, tool_allow_hosts=["127.0.0.1"]) as c:
        c.headers.update(AUTH)
        yield c


@pytest.fixture
def strict(database_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A server with a secret key and no host exceptions (public addresses only)."""
    with _app(database_url, secret_key=KEY) as c:
        c.headers.update(AUTH)
        yield c


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def vault(c: Any, **body: Any) -> dict[str, Any]:
    return dict(ok(c.post("/api/v1/vaults", json={"owner_id": "owner-1", "name": "prod", **body})))


def credential(c: Any, metadata: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    doc = {
        "vault_id": vault(c)["id"],
        "service": "svc",
        "label": "l",
        "scopes_available": ["search", "charge", "notify"],
        "metadata": metadata or {},
        **body,
    }
    return dict(ok(c.post("/api/v1/credentials", json=doc)))


def grant(c: Any, cred: dict[str, Any], agent: str = "agent-a", **body: Any) -> dict[str, Any]:
    doc = {
        "credential_id": cred["id"],
        "agent_id": agent,
        "granted_by": "owner-1",
        "scopes": ["search"],
        **body,
    }
    return dict(ok(c.post("/api/v1/grants", json=doc)))


def invoke(c: Any, tool: str = "search", agent: str = "agent-a", **body: Any) -> httpx.Response:
    doc = {"tool_name": tool, "agent_id": agent, "parameters": {}, **body}
    response: httpx.Response = c.post("/api/v1/tools/invoke", json=doc)
    return response


def rest(url: str, **extra: Any) -> dict[str, Any]:
    return {"base_url": url, "api_key": SECRET, **extra}


# -- vaults --------------------------------------------------------------------------------


def test_vault_create_get_list(vc: Any) -> None:
    v = vault(vc)
    assert (v["owner_id"], v["name"]) == ("owner-1", "prod")
    assert set(v) >= {"id", "owner_id", "name", "created_at"}
    assert ok(vc.get(f"/api/v1/vaults/{v['id']}")) == v
    other = vault(vc, owner_id="owner-2")
    assert [x["id"] for x in ok(vc.get("/api/v1/vaults"))["vaults"]] == [v["id"], other["id"]]
    assert [x["id"] for x in ok(vc.get("/api/v1/vaults?owner_id=owner-2"))["vaults"]] == [
        other["id"]
    ]
    missing = vc.get("/api/v1/vaults/nope")
    assert (missing.status_code, missing.json()["detail"]) == (404, "Vault not found")


@pytest.mark.parametrize(
    "body",
    [
        {"owner_id": "o"},
        {"name": "n"},
        {"owner_id": 1, "name": "n"},
        {"owner_id": "", "name": "n"},
        [],
    ],
)
def test_vault_bad_input_stores_nothing(vc: Any, body: Any) -> None:
    r = vc.post("/api/v1/vaults", json=body)
    assert r.status_code == 422, r.text
    assert ok(vc.get("/api/v1/vaults"))["vaults"] == []


def test_vault_delete_cascades(vc: Any) -> None:
    cred = credential(vc, rest("http://x.example"))
    g = grant(vc, cred)
    v_id = cred["vault_id"]
    assert ok(vc.get(f"/api/v1/vaults/{v_id}"))["credentials"] == [cred["id"]]
    denied = vc.delete(f"/api/v1/vaults/{v_id}", headers=OTHER)
    assert denied.status_code == 403
    gone = ok(vc.delete(f"/api/v1/vaults/{v_id}"))
    assert gone == {
        "status": "deleted",
        "vault_id": v_id,
        "credentials_deleted": 1,
        "grants_revoked": 1,
    }
    assert vc.get(f"/api/v1/vaults/{v_id}").status_code == 404
    assert vc.get(f"/api/v1/credentials/{cred['id']}").status_code == 404
    assert ok(vc.get(f"/api/v1/grants/{g['id']}"))["status"] == "revoked"
    assert invoke(vc).json()["error_code"] == "GRANT_REVOKED"


def test_idempotency_key_on_creates(vc: Any) -> None:
    once = {"Idempotency-Key": "v-1"}
    body = {"owner_id": "o", "name": "n"}
    first = ok(vc.post("/api/v1/vaults", json=body, headers=once))
    assert ok(vc.post("/api/v1/vaults", json=body, headers=once)) == first
    assert len(ok(vc.get("/api/v1/vaults"))["vaults"]) == 1
    doc = {
        "vault_id": first["id"],
        "service": "s",
        "label": "l",
        "scopes_available": ["t"],
        "metadata": {"api_key": SECRET},
    }
    cred = ok(vc.post("/api/v1/credentials", json=doc, headers={"Idempotency-Key": "c-1"}))
    assert ok(vc.post("/api/v1/credentials", json=doc, headers={"Idempotency-Key": "c-1"})) == cred
    assert ok(vc.get(f"/api/v1/vaults/{first['id']}"))["credentials"] == [cred["id"]]
    g = {"credential_id": cred["id"], "agent_id": "a", "granted_by": "o", "scopes": ["t"]}
    made = ok(vc.post("/api/v1/grants", json=g, headers={"Idempotency-Key": "g-1"}))
    assert ok(vc.post("/api/v1/grants", json=g, headers={"Idempotency-Key": "g-1"})) == made
    assert len(ok(vc.get("/api/v1/agents/a/grants"))) == 1


# -- credentials and their secrets -------------------------------------------------------


def test_credential_never_returns_secrets(vc: Any) -> None:
    metadata = {
        "environment": "prod",
        "api_key": SECRET,
        "client_secret": SECRET + "-cs",
        "endpoints": {"search": {"path": "/s", "headers": {"X-Api-Key": SECRET + "-h"}}},
        "auth": {"location": "header", "token": SECRET + "-t"},
    }
    cred = credential(vc, metadata, auth_type="api_key")
    fetched = ok(vc.get(f"/api/v1/credentials/{cred['id']}"))
    for doc in (cred, fetched):
        assert SECRET not in json.dumps(doc)
        assert (
            doc["credential_metadata"]
            == doc["metadata"]
            == {
                "environment": "prod",
                "endpoints": {"search": {"path": "/s", "headers": {}}},
                "auth": {"location": "header"},
            }
        )
        assert set(doc) >= {
            "id",
            "vault_id",
            "service",
            "label",
            "auth_type",
            "scopes_available",
            "status",
            "credential_metadata",
            "created_at",
            "rotated_at",
            "expires_at",
        }
    listed = ok(vc.get(f"/api/v1/vaults/{cred['vault_id']}/credentials"))["credentials"]
    assert [x["id"] for x in listed] == [cred["id"]]
    assert SECRET not in json.dumps(listed)


def _rows(database_url: str, table: str) -> list[dict[str, Any]]:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]

    async def fetch() -> list[dict[str, Any]]:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            return [dict(r) for r in await conn.fetch(f"SELECT * FROM {table}")]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_secrets_are_sealed_at_rest(vc: Any, database_url: str) -> None:
    cred = credential(vc, {"api_key": SECRET, "region": "eu"})
    (row,) = _rows(database_url, "oi_credentials")
    assert SECRET not in json.dumps(row, default=str)
    assert row["sealed"].startswith("v1.")
    assert json.loads(row["public_metadata"]) == {"region": "eu"}
    # The blob opens with the configured key and is bound to its row.
    box = load_box(KEY, database_url)
    assert box.open(row["sealed"], bound_to=cred["id"]) == {"api_key": SECRET, "region": "eu"}
    with pytest.raises(SecretsUnavailable):
        box.open(row["sealed"], bound_to="another-credential")
    with pytest.raises(SecretsUnavailable, match="different secret key"):
        load_box("some-other-key-entirely-000000", database_url).open(
            row["sealed"], bound_to=cred["id"]
        )
    # No secret material: nothing is sealed.
    plain = credential(vc, {"region": "us"})
    rows = {r["id"]: r for r in _rows(database_url, "oi_credentials")}
    assert rows[plain["id"]]["sealed"] is None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_generated_key_file_beside_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    logger, seen = logging.getLogger("openintent.server.secrets"), _Records()
    logger.addHandler(seen)
    try:
        with _app(url) as c:
            c.headers.update(AUTH)
            cred = credential(c, {"api_key": SECRET})
    finally:
        logger.removeHandler(seen)
    key_file = tmp_path / "db.sqlite.secret-key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    warnings = [r.getMessage() for r in seen.records if r.levelno == logging.WARNING]
    assert any("no --secret-key" in m and str(key_file) in m for m in warnings), warnings
    # A restarted server reads the same key and can still use the credential.
    with _app(url) as c:
        c.headers.update(AUTH)
        grant(c, cred)
        assert invoke(c).status_code == 200


def test_postgresql_without_key_refuses_secret_material() -> None:
    with pytest.raises(SecretsUnavailable, match="--secret-key") as refused:
        load_box(None, "postgresql://u@127.0.0.1/db")
    assert refused.value.status_code == 503


@pytest.mark.skipif(not os.environ.get("OPENINTENT_TEST_PG_URL"), reason="PostgreSQL only")
def test_postgresql_server_without_key(database_url: str) -> None:
    with _app(database_url) as c:
        c.headers.update(AUTH)
        v = vault(c)
        body = {"vault_id": v["id"], "service": "s", "label": "l", "metadata": {"api_key": SECRET}}
        refused = c.post("/api/v1/credentials", json=body)
        assert refused.status_code == 503
        assert "--secret-key" in refused.json()["detail"]
        assert SECRET not in refused.text
        assert ok(c.get(f"/api/v1/vaults/{v['id']}")).get("credentials", []) == []
        body["metadata"] = {"region": "eu"}  # nothing secret: stored
        assert c.post("/api/v1/credentials", json=body).status_code == 200


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ({"vault_id": "missing"}, 404),
        ({"auth_type": "password_in_a_drawer"}, 422),
        ({"service": ""}, 422),
        ({"metadata": "sk_live"}, 422),
        ({"scopes_available": "search"}, 422),
        ({"expires_at": "2001-01-01T00:00:00"}, 422),
        ({"label": None}, 422),
    ],
)
def test_credential_bad_input(vc: Any, patch: dict[str, Any], status: int) -> None:
    v = vault(vc)
    body = {
        "vault_id": v["id"],
        "service": "s",
        "label": "l",
        "metadata": {"api_key": SECRET},
        **patch,
    }
    r = vc.post("/api/v1/credentials", json=body)
    assert r.status_code == status, r.text
    assert SECRET not in r.text
    assert ok(vc.get(f"/api/v1/vaults/{v['id']}")).get("credentials", []) == []


def test_credential_rotate_and_revoke(vc: Any, upstream: Upstream) -> None:
    cred = credential(vc, rest(upstream.url))
    g = grant(vc, cred)
    assert ok(invoke(vc))["result"]["headers"]["Authorization"] == "[REDACTED]"
    assert upstream.seen[-1]["headers"]["Authorization"] == SECRET
    assert (
        vc.patch(f"/api/v1/credentials/{cred['id']}/rotate", json={}, headers=OTHER).status_code
        == 403
    )
    rotated = ok(
        vc.patch(
            f"/api/v1/credentials/{cred['id']}/rotate",
            json={"metadata": {"api_key": SECRET + "-v2"}},
        )
    )
    assert rotated["rotated_at"] is not None
    assert SECRET not in json.dumps(rotated)
    ok(invoke(vc))
    assert upstream.seen[-1]["headers"]["Authorization"] == SECRET + "-v2"
    revoked = ok(vc.delete(f"/api/v1/credentials/{cred['id']}"))
    assert revoked == {"status": "revoked", "credential_id": cred["id"], "affected_grants_count": 1}
    assert ok(vc.get(f"/api/v1/credentials/{cred['id']}"))["status"] == "revoked"
    assert ok(vc.get(f"/api/v1/grants/{g['id']}"))["status"] == "revoked"
    assert invoke(vc).status_code == 403
    again = vc.patch(
        f"/api/v1/credentials/{cred['id']}/rotate", json={"metadata": {"api_key": "x" * 8}}
    )
    assert again.status_code == 409


# -- grants --------------------------------------------------------------------------------


def test_grant_shape_and_reference_routes(vc: Any) -> None:
    cred = credential(vc)
    g = grant(
        vc,
        cred,
        constraints={"max_invocations_per_hour": 2, "allowed_hosts": ["a.example"]},
        delegatable=True,
        expires_at="2999-01-01T00:00:00Z",
    )
    assert g["source"] == "direct"
    assert g["delegation_depth"] == 0
    assert g["delegated_from"] is None
    assert g["constraints"] == {"max_invocations_per_hour": 2, "allowed_hosts": ["a.example"]}
    assert g["expires_at"] == "2999-01-01T00:00:00"
    assert (g["status"], g["revoked_at"]) == ("active", None)
    assert ok(vc.get(f"/api/v1/grants/{g['id']}")) == g
    assert ok(vc.get("/api/v1/agents/agent-a/grants")) == [g]
    assert ok(vc.get("/api/v1/agents/nobody/grants")) == []
    assert [
        x["id"] for x in ok(vc.get(f"/api/v1/grants?credential_id={cred['id']}"))["grants"]
    ] == [g["id"]]
    assert vc.get("/api/v1/grants?status=bogus").status_code == 422
    first = ok(vc.delete(f"/api/v1/grants/{g['id']}"))
    assert first == {"status": "revoked", "grant_id": g["id"], "cascade_count": 0}
    revoked_at = ok(vc.get(f"/api/v1/grants/{g['id']}"))["revoked_at"]
    assert ok(vc.delete(f"/api/v1/grants/{g['id']}"))["status"] == "revoked"
    assert ok(vc.get(f"/api/v1/grants/{g['id']}"))["revoked_at"] == revoked_at  # kept
    assert [
        x["id"] for x in ok(vc.get("/api/v1/grants?agent_id=agent-a&status=revoked"))["grants"]
    ] == [g["id"]]
    assert vc.get("/api/v1/grants/missing").status_code == 404
    assert vc.delete("/api/v1/grants/missing").status_code == 404


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ({"scopes": ["search", "refunds"]}, 422),  # not offered by the credential
        ({"context": {"tools": ["shell"]}}, 422),
        ({"context": {"tools": "search"}}, 422),
        ({"expires_at": "2001-01-01T00:00:00"}, 422),
        ({"constraints": {"max_invocations_per_hour": -1}}, 422),
        ({"constraints": {"ip_allowlist": ["not-an-ip"]}}, 422),
        ({"constraints": {"allowed_hosts": "a.example"}}, 422),
        ({"credential_id": "missing"}, 404),
        ({"agent_id": ""}, 422),
        ({"granted_by": 5}, 422),
    ],
)
def test_grant_bad_input_stores_nothing(vc: Any, patch: dict[str, Any], status: int) -> None:
    cred = credential(vc)
    body = {
        "credential_id": cred["id"],
        "agent_id": "agent-a",
        "granted_by": "o",
        "scopes": ["search"],
        **patch,
    }
    r = vc.post("/api/v1/grants", json=body)
    assert r.status_code == status, r.text
    assert ok(vc.get("/api/v1/grants"))["grants"] == []


def test_only_a_manager_grants(vc: Any) -> None:
    cred = credential(vc)
    body = {
        "credential_id": cred["id"],
        "agent_id": "intruder",
        "granted_by": "me",
        "scopes": ["search"],
    }
    assert vc.post("/api/v1/grants", json=body, headers=OTHER).status_code == 403
    # the vault's owner, acting through any key, may
    owner = {"X-API-Key": "agent-synth-key", "X-Agent-ID": "owner-1"}
    assert vc.post("/api/v1/grants", json=body, headers=owner).status_code == 200


def test_suspend_and_resume(vc: Any) -> None:
    g = grant(vc, credential(vc))
    suspended = ok(vc.patch(f"/api/v1/grants/{g['id']}/suspend", json={"reason": "audit"}))
    assert suspended["status"] == "suspended"
    r = invoke(vc)
    assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_SUSPENDED")
    assert vc.patch(f"/api/v1/grants/{g['id']}/suspend").status_code == 409
    assert ok(vc.patch(f"/api/v1/grants/{g['id']}/resume"))["status"] == "active"
    assert invoke(vc).status_code == 200
    assert vc.patch(f"/api/v1/grants/{g['id']}/resume").status_code == 409
    assert vc.patch(f"/api/v1/grants/{g['id']}/suspend", headers=OTHER).status_code == 403


def test_delegation(vc: Any) -> None:
    cred = credential(vc)
    source = grant(
        vc,
        cred,
        scopes=["search", "charge"],
        delegatable=True,
        constraints={"max_invocations_per_hour": 10, "max_delegation_depth": 2},
        expires_at="2999-01-01T00:00:00",
    )
    as_holder = {"X-Agent-ID": "agent-a"}
    url = f"/api/v1/grants/{source['id']}/delegate"
    assert (
        vc.post(
            url, json={"agent_id": "agent-b", "scopes": ["notify"]}, headers=as_holder
        ).status_code
        == 422
    )
    looser = {"agent_id": "agent-b", "constraints": {"max_invocations_per_hour": 50}}
    assert vc.post(url, json=looser, headers=as_holder).status_code == 422
    later = {"agent_id": "agent-b", "expires_at": "3000-01-01T00:00:00"}
    assert vc.post(url, json=later, headers=as_holder).status_code == 422
    assert vc.post(url, json={"agent_id": "agent-b"}, headers=OTHER).status_code == 403
    child = ok(
        vc.post(
            url,
            json={
                "target_agent_id": "agent-b",
                "scopes": ["search"],
                "delegatable": True,
                "constraints": {"max_invocations_per_hour": 5},
            },
            headers=as_holder,
        )
    )
    assert (child["source"], child["delegated_from"], child["delegation_depth"]) == (
        "delegated",
        source["id"],
        1,
    )
    assert child["scopes"] == ["search"]
    assert child["constraints"]["max_invocations_per_hour"] == 5
    assert child["expires_at"] == source["expires_at"]
    assert child["delegatable"] is True
    assert invoke(vc, agent="agent-b").status_code == 200
    assert invoke(vc, tool="charge", agent="agent-b").status_code == 403
    grandchild = ok(
        vc.post(
            f"/api/v1/grants/{child['id']}/delegate",
            json={"agent_id": "agent-c", "delegatable": True},
            headers={"X-Agent-ID": "agent-b"},
        )
    )
    assert (grandchild["delegation_depth"], grandchild["delegatable"]) == (
        2,
        False,
    )  # depth limit 2
    assert (
        vc.post(f"/api/v1/grants/{grandchild['id']}/delegate", json={"agent_id": "d"}).status_code
        == 403
    )
    # a suspended source disables what was delegated from it
    ok(vc.patch(f"/api/v1/grants/{source['id']}/suspend"))
    assert invoke(vc, agent="agent-c").status_code == 403
    ok(vc.patch(f"/api/v1/grants/{source['id']}/resume"))
    assert invoke(vc, agent="agent-c").status_code == 200
    # revocation cascades
    assert ok(vc.delete(f"/api/v1/grants/{source['id']}"))["cascade_count"] == 2
    for g in (child, grandchild):
        assert ok(vc.get(f"/api/v1/grants/{g['id']}"))["status"] == "revoked"
    undelegatable = grant(vc, cred, agent="agent-x")
    r = vc.post(f"/api/v1/grants/{undelegatable['id']}/delegate", json={"agent_id": "y"})
    assert r.status_code == 403


# -- the proxy: grant resolution and checks ---------------------------------------------------


def test_placeholder_invocation(vc: Any) -> None:
    g = grant(vc, credential(vc, {"environment": "prod"}))
    body = ok(invoke(vc, parameters={"q": "hello"}, idempotency_key="k1"))
    assert body["status"] == "success"
    assert body["error"] is None
    assert body["grant_id"] == g["id"]
    assert body["result"] == {
        "tool_name": "search",
        "service": "svc",
        "parameters": {"q": "hello"},
        "message": "Tool 'search' invoked via server proxy (no execution adapter configured)",
        "credential_service": "svc",
        "credential_auth_type": "api_key",
    }
    records = ok(vc.get(f"/api/v1/grants/{g['id']}/invocations"))
    assert [r["id"] for r in records] == [body["invocation_id"]]  # the real stored id
    assert records[0]["status"] == "success"
    assert records[0]["idempotency_key"] == "k1"


def test_resolution_order_and_service_fallback(vc: Any) -> None:
    cred = credential(vc)
    by_service = grant(vc, cred, scopes=[])
    by_scope = grant(vc, cred, scopes=["search"])
    assert ok(invoke(vc))["grant_id"] == by_scope["id"]
    assert ok(invoke(vc, tool="svc"))["grant_id"] == by_service["id"]
    assert ok(invoke(vc, grant_id=by_service["id"], tool="svc"))["grant_id"] == by_service["id"]
    wrong = invoke(vc, grant_id=by_service["id"], tool="search")
    assert wrong.status_code == 403


def test_agent_header_must_match(vc: Any) -> None:
    grant(vc, credential(vc))
    r = vc.post(
        "/api/v1/tools/invoke",
        json={"tool_name": "search", "agent_id": "agent-a"},
        headers={"X-Agent-ID": "agent-z"},
    )
    assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_CONTEXT_MISMATCH")
    same = vc.post(
        "/api/v1/tools/invoke",
        json={"tool_name": "search", "agent_id": "agent-a"},
        headers={"X-Agent-ID": "agent-a"},
    )
    assert same.status_code == 200


def test_no_grant(vc: Any) -> None:
    r = invoke(vc, tool="charges.create", agent="agent-billing")
    assert r.status_code == 403
    body = r.json()
    assert (
        body["detail"]
        == "No active grant found for agent 'agent-billing' to use tool 'charges.create'"
    )
    assert (body["error_code"], body["status"], body["invocation_id"]) == (
        "GRANT_NOT_FOUND",
        "denied",
        None,
    )
    assert body["error"] == {"code": "GRANT_NOT_FOUND", "message": body["detail"]}


def test_expiry_skips_and_reports(vc: Any, database_url: str) -> None:
    cred = credential(vc)
    soon = (utcnow() + dt.timedelta(seconds=1)).isoformat()
    expiring = grant(vc, cred, expires_at=soon)
    time.sleep(1.2)
    assert ok(vc.get(f"/api/v1/grants/{expiring['id']}"))["status"] == "expired"
    r = invoke(vc)
    assert r.status_code == 403
    assert (r.json()["detail"], r.json()["error_code"]) == (
        "Grant for tool 'search' has expired",
        "GRANT_EXPIRED",
    )
    stored = {row["id"]: row for row in _rows(database_url, "oi_tool_grants")}
    assert stored[expiring["id"]]["status"] == "expired"
    valid = grant(vc, cred)  # later in storage order: the expired one no longer shadows it
    assert ok(invoke(vc))["grant_id"] == valid["id"]


def test_scope_withdrawn_by_rotation(vc: Any) -> None:
    cred = credential(vc)
    grant(vc, cred, scopes=["search", "charge"])
    ok(vc.patch(f"/api/v1/credentials/{cred['id']}/rotate", json={"scopes_available": ["search"]}))
    assert invoke(vc).status_code == 200
    r = invoke(vc, tool="charge")
    assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_SCOPE_INSUFFICIENT")


def test_parameter_and_context_constraints(vc: Any) -> None:
    cred = credential(vc)
    grant(
        vc,
        cred,
        constraints={
            "allowed_parameters": {"q": True, "mode": ["fast"]},
            "denied_parameters": {"q": ["drop table"]},
        },
    )
    assert invoke(vc, parameters={"q": "x", "mode": "fast"}).status_code == 200
    for params in ({"mode": "slow"}, {"other": 1}, {"q": "drop table"}):
        r = invoke(vc, parameters=params)
        assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_PARAMETER_DENIED"), params
    grant(vc, cred, agent="bound", context={"intent_id": "i-1"})
    r = invoke(vc, agent="bound", context={"intent_id": "i-2"})
    assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_CONTEXT_MISMATCH")
    assert invoke(vc, agent="bound", context={"intent_id": "i-1"}).status_code == 200
    grant(vc, cred, agent="walled", constraints={"ip_allowlist": ["10.9.9.0/24"]})
    r = invoke(vc, agent="walled")
    assert (r.status_code, r.json()["error_code"]) == (403, "GRANT_CONTEXT_MISMATCH")


def test_rate_limit_counts_only_successes(vc: Any, upstream: Upstream) -> None:
    cred = credential(
        vc,
        rest(upstream.url, endpoints={"fail": {"path": "/status/500"}}),
        scopes_available=["search", "fail"],
    )
    g = grant(vc, cred, scopes=["search", "fail"], constraints={"max_invocations_per_hour": 2})
    for _ in range(3):
        assert invoke(vc, tool="fail").status_code == 502  # failures do not count
    assert invoke(vc).status_code == 200
    manual = {
        "grant_id": g["id"],
        "service": "svc",
        "tool": "search",
        "agent_id": "agent-a",
        "status": "error",
    }
    ok(vc.post("/api/v1/invocations", json=manual))
    assert invoke(vc).status_code == 200
    limited = invoke(vc)
    assert limited.status_code == 429
    assert limited.json()["detail"] == "Rate limit exceeded: 2 invocations per hour"
    assert limited.json()["error_code"] == "GRANT_RATE_LIMITED"


def test_concurrent_calls_never_exceed_the_rate_limit(database_url: str) -> None:
    with ServerProcess(database_url, env={"OPENINTENT_SECRET_KEY": KEY}) as srv:

        async def run() -> list[int]:
            async with httpx.AsyncClient(base_url=srv.base_url, headers=AUTH, timeout=30) as c:
                v = (await c.post("/api/v1/vaults", json={"owner_id": "o", "name": "n"})).json()
                cred = (
                    await c.post(
                        "/api/v1/credentials",
                        json={
                            "vault_id": v["id"],
                            "service": "svc",
                            "label": "l",
                            "scopes_available": ["search"],
                            "metadata": {"api_key": SECRET},
                        },
                    )
                ).json()
                await c.post(
                    "/api/v1/grants",
                    json={
                        "credential_id": cred["id"],
                        "agent_id": "agent-a",
                        "granted_by": "o",
                        "scopes": ["search"],
                        "constraints": {"max_invocations_per_hour": 3},
                    },
                )

                async def one() -> int:
                    r = await c.post(
                        "/api/v1/tools/invoke", json={"tool_name": "search", "agent_id": "agent-a"}
                    )
                    return r.status_code

                return list(await asyncio.gather(*(one() for _ in range(12))))

        codes = asyncio.run(run())
    assert sorted(codes) == [200] * 3 + [429] * 9


def test_idempotent_replay(vc: Any, upstream: Upstream) -> None:
    grant(vc, credential(vc, rest(upstream.url)))
    first = ok(invoke(vc, idempotency_key="once", parameters={"n": 1}))
    again = ok(invoke(vc, idempotency_key="once", parameters={"n": 1}))
    assert again == first
    assert len(upstream.seen) == 1
    other_tool = invoke(vc, tool="svc", idempotency_key="once")
    assert other_tool.status_code == 409
    assert ok(invoke(vc, idempotency_key="twice"))["invocation_id"] != first["invocation_id"]


def _execute(database_url: str, sql: str, *args: Any) -> None:
    """One statement with ``?`` placeholders, on SQLite or PostgreSQL."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql, args)
        return

    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            numbered = sql
            for n in range(1, len(args) + 1):
                numbered = numbered.replace("?", f"${n}", 1)
            await conn.execute(numbered, *args)
        finally:
            await conn.close()

    asyncio.run(run())


def test_abandoned_call_does_not_block_its_key(vc: Any, database_url: str) -> None:
    g = grant(vc, credential(vc))
    old = utcnow() - dt.timedelta(minutes=10)
    _execute(
        database_url,
        "INSERT INTO oi_tool_invocations (id, grant_id, service, tool, agent_id, parameters, "
        "status, idempotency_key, idempotency_scope, context, proxied, timestamp) "
        "VALUES (?, ?, 'svc', 'search', 'agent-a', '{}', 'pending', 'k', ?, '{}', ?, ?)",
        "crashed-call",
        g["id"],
        "agent-a\x1fk",
        True,
        old,
    )
    assert ok(invoke(vc, idempotency_key="k"))["status"] == "success"
    abandoned = ok(vc.get("/api/v1/invocations/crashed-call"))
    assert abandoned["status"] == "error"
    assert abandoned["error"]["message"].startswith("Abandoned")


# -- the proxy: real upstream calls ---------------------------------------------------------


def test_rest_adapter_injects_and_scrubs(vc: Any, upstream: Upstream) -> None:
    meta = rest(
        upstream.url,
        endpoints={
            "search": {"path": "/v1/items/{item}", "method": "GET"},
            "charge": {"path": "/v1/charges", "method": "POST", "headers": {"X-Trace": "t1"}},
            "notify": {"path": "/v1/n", "method": "PUT", "param_mapping": "query"},
        },
    )
    grant(vc, credential(vc, meta, auth_type="bearer_token"), scopes=["search", "charge", "notify"])
    got = ok(invoke(vc, parameters={"item": "a/b", "q": "x y"}))
    seen = upstream.seen[-1]
    assert (seen["method"], seen["path"], seen["query"]) == ("GET", "/v1/items/a%2Fb", {"q": "x y"})
    assert seen["headers"]["Authorization"] == f"Bearer {SECRET}"  # the credential's auth_type
    assert seen["headers"]["User-Agent"] == "OpenIntent-Server/1.0"
    assert seen["headers"]["Host"] == f"127.0.0.1:{upstream.port}"
    assert got["result"]["headers"]["Authorization"] == "[REDACTED]"
    assert SECRET not in json.dumps(got)
    ok(invoke(vc, tool="charge", parameters={"amount": 5}))
    seen = upstream.seen[-1]
    assert (seen["method"], json.loads(seen["body"]), seen["headers"]["X-Trace"]) == (
        "POST",
        {"amount": 5},
        "t1",
    )
    ok(invoke(vc, tool="notify", parameters={"to": "ops"}))
    assert (upstream.seen[-1]["method"], upstream.seen[-1]["query"]) == ("PUT", {"to": "ops"})


def test_query_and_basic_auth(vc: Any, upstream: Upstream) -> None:
    query = rest(upstream.url, auth={"location": "query", "query_param": "key"})
    grant(vc, credential(vc, query))
    got = ok(invoke(vc))
    assert upstream.seen[-1]["query"] == {"key": SECRET}
    assert SECRET not in json.dumps(got)
    basic = {"base_url": upstream.url, "username": "robot", "password": SECRET}
    grant(
        vc,
        credential(vc, basic, auth_type="basic_auth", service="b", scopes_available=["b1"]),
        agent="agent-b",
        scopes=["b1"],
    )
    got = ok(invoke(vc, tool="b1", agent="agent-b"))
    expected = base64.b64encode(f"robot:{SECRET}".encode()).decode()
    assert upstream.seen[-1]["headers"]["Authorization"] == f"Basic {expected}"
    assert expected not in json.dumps(got)
    assert SECRET not in json.dumps(got)


def test_webhook_adapter_signs_the_bytes_it_sends(vc: Any, upstream: Upstream) -> None:
    meta = {"base_url": f"{upstream.url}/hook", "signing_secret": SECRET}
    grant(vc, credential(vc, meta, auth_type="webhook"), scopes=["notify"])
    got = ok(invoke(vc, tool="notify", parameters={"msg": "hi"}))
    seen = upstream.seen[-1]
    body = seen["body"].encode()
    payload = json.loads(body)
    assert (payload["tool_name"], payload["parameters"]) == ("notify", {"msg": "hi"})
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert seen["headers"]["X-OpenIntent-Signature"] == expected
    # receivers written for the reference re-serialise with sorted keys: same bytes
    assert json.dumps(payload, sort_keys=True).encode() == body
    assert got["status"] == "success"


def test_oauth2_refresh_once(vc: Any, upstream: Upstream) -> None:
    meta = {
        "base_url": f"{upstream.url}/oauth",
        "access_token": SECRET,
        "token_url": f"{upstream.url}/token",
        "client_id": "cid-123",
        "client_secret": SECRET + "-cs",
    }
    grant(vc, credential(vc, meta, auth_type="oauth2_client_credentials"))
    got = ok(invoke(vc))
    assert got["status"] == "success"
    assert got["result"]["_refreshed"] is True
    token_call = next(s for s in upstream.seen if s["path"] == "/token")
    assert parse_qs(token_call["body"])["grant_type"] == ["client_credentials"]
    assert Upstream.FRESH not in json.dumps(got)  # the new token is a secret too


@pytest.mark.parametrize(
    ("path", "http_status", "status", "error"),
    [
        ("/status/500", 502, "error", "Upstream returned HTTP 500"),
        ("/status/401", 200, "error", "Upstream returned HTTP 401"),
        ("/slow", 504, "timeout", "External service timed out"),
        ("/big", 200, "error", "Response too large"),
        ("/redirect", 200, "error", "Upstream returned HTTP 302"),
    ],
)
def test_outcome_mapping(
    vc: Any, upstream: Upstream, path: str, http_status: int, status: str, error: str
) -> None:
    meta = rest(
        upstream.url, timeout_ms=1000, endpoints={"search": {"path": path, "method": "GET"}}
    )
    g = grant(vc, credential(vc, meta))
    r = invoke(vc)
    assert r.status_code == http_status, r.text
    body = r.json()
    if http_status == 200:
        assert (body["status"], body["error"].startswith(error)) == (status, True)
    else:
        assert body["detail"].startswith(error)
        assert body["status"] == status
        assert body["error_code"] == ("SERVICE_ERROR" if http_status == 502 else "PROXY_ERROR")
    (record,) = ok(vc.get(f"/api/v1/grants/{g['id']}/invocations"))
    assert (record["status"], record["error"]["message"].startswith(error)) == (status, True)
    assert SECRET not in r.text


def test_text_answers_and_connection_failures(vc: Any, upstream: Upstream) -> None:
    meta = rest(upstream.url, endpoints={"search": {"path": "/text", "method": "GET"}})
    grant(vc, credential(vc, meta))
    assert ok(invoke(vc))["result"] == {"raw": "plain words"}
    closed = rest("http://127.0.0.1:9", auth={"location": "query"})
    grant(
        vc,
        credential(vc, closed, service="down", scopes_available=["down"]),
        agent="agent-d",
        scopes=["down"],
    )
    got = ok(invoke(vc, tool="down", agent="agent-d"))
    assert got["status"] == "error"
    assert got["error"].startswith("Connection failed")
    assert SECRET not in json.dumps(got)


# -- the proxy: host checks -------------------------------------------------------------------


def test_loopback_refused_unless_allowed(strict: Any, upstream: Upstream) -> None:
    grant(strict, credential(strict, rest(upstream.url)))
    r = invoke(strict)
    assert r.status_code == 403
    assert r.json()["detail"] == "Security validation failed: Blocked host: 127.0.0.1"
    assert upstream.seen == []


def test_names_are_resolved_before_the_check(strict: Any, upstream: Upstream) -> None:
    grant(strict, credential(strict, rest(f"http://localhost:{upstream.port}")))
    r = invoke(strict)
    assert r.status_code == 403
    assert "localhost" in r.json()["detail"]

    async def fake_dns(host: str, port: int) -> list[str]:
        return {
            "api.example.test": ["10.1.2.3"],
            "mixed.example.test": ["10.0.0.1", "192.168.0.7", "100.64.0.1"],
            "meta.example.test": ["169.254.169.254"],
            "v6.example.test": ["::ffff:127.0.0.1"],
        }[host]

    strict.app.state.services.get("vaults").settings.resolver = fake_dns
    for i, host in enumerate(
        ("api.example.test", "mixed.example.test", "meta.example.test", "v6.example.test")
    ):
        agent = f"agent-{i}"
        grant(strict, credential(strict, rest(f"http://{host}")), agent=agent)
        refused = invoke(strict, agent=agent)
        assert refused.status_code == 403, host
        assert "resolves to" in refused.json()["detail"], refused.text
    assert upstream.seen == []


def test_allow_list_by_network_and_grant_narrowing(database_url: str, upstream: Upstream) -> None:
    with _app(database_url, secret_key=KEY, tool_allow_hosts=["127.0.0.0/8"]) as c:
        c.headers.update(AUTH)
        cred = credential(c, rest(f"http://localhost:{upstream.port}"))
        grant(c, cred)  # "localhost" resolves into the allowed network
        assert ok(invoke(c))["status"] == "success"
        grant(c, cred, agent="narrow", constraints={"allowed_hosts": ["api.example.com"]})
        r = invoke(c, agent="narrow")
        assert r.status_code == 403
        assert "allowed_hosts" in r.json()["detail"]


def test_non_http_schemes_refused(vc: Any) -> None:
    grant(vc, credential(vc, rest("file:///etc/passwd")))
    r = invoke(vc)
    assert r.status_code == 403
    assert "scheme" in r.json()["detail"]


# -- invocation records, events, registry --------------------------------------------------------


def test_manual_records_and_queries(vc: Any) -> None:
    g = grant(vc, credential(vc))
    body = {
        "grant_id": g["id"],
        "service": "svc",
        "tool": "search",
        "agent_id": "agent-a",
        "parameters": {"q": 1},
        "result": {"n": 2},
        "duration_ms": 7,
        "context": {"task_id": "t-1"},
    }
    rec = ok(vc.post("/api/v1/invocations", json=body))
    assert (rec["status"], rec["parameters"], rec["duration_ms"]) == ("success", {"q": 1}, 7)
    assert ok(vc.get(f"/api/v1/invocations/{rec['id']}")) == rec
    assert vc.post("/api/v1/invocations", json={**body, "status": "maybe"}).status_code == 422
    assert vc.post("/api/v1/invocations", json={**body, "grant_id": "nope"}).status_code == 404
    assert vc.post("/api/v1/invocations", json={**body, "duration_ms": -1}).status_code == 422
    second = ok(vc.post("/api/v1/invocations", json={**body, "tool": "other"}))
    assert [r["id"] for r in ok(vc.get(f"/api/v1/grants/{g['id']}/invocations"))] == [
        second["id"],
        rec["id"],
    ]
    assert [r["id"] for r in ok(vc.get(f"/api/v1/grants/{g['id']}/invocations?limit=1"))] == [
        second["id"]
    ]
    assert ok(vc.get("/api/v1/grants/unknown/invocations")) == []
    assert vc.get(f"/api/v1/grants/{g['id']}/invocations?limit=x").status_code == 422
    assert vc.get("/api/v1/invocations?status=great").status_code == 422
    found = ok(vc.get("/api/v1/invocations?tool=other"))
    assert (found["total"], [r["id"] for r in found["invocations"]]) == (1, [second["id"]])
    assert ok(vc.get("/api/v1/tasks/t-1/invocations"))["total"] == 2
    assert vc.get("/api/v1/invocations/missing").status_code == 404


def test_tool_events_in_the_intent_log(vc: Any) -> None:
    intent = ok(vc.post("/api/v1/intents", json={"title": "t"}))
    g = grant(vc, credential(vc, {"api_key": SECRET}))
    done = ok(invoke(vc, parameters={"token": SECRET}, context={"intent_id": intent["id"]}))
    assert invoke(vc, tool="nope", context={"intent_id": intent["id"]}).status_code == 403
    events = ok(vc.get(f"/api/v1/intents/{intent['id']}/events"))
    kinds = {e["event_type"]: e for e in events}
    assert kinds["tool.invoked"]["payload"]["invocation_id"] == done["invocation_id"]
    assert kinds["tool.invoked"]["payload"]["grant_id"] == g["id"]
    assert kinds["tool.invoked"]["payload"]["parameters_summary"] == ["token"]
    assert kinds["tool.denied"]["payload"]["error_code"] == "GRANT_NOT_FOUND"
    listed = ok(vc.get(f"/api/v1/intents/{intent['id']}/invocations"))
    assert [r["id"] for r in listed["invocations"]] == [done["invocation_id"]]
    assert SECRET not in json.dumps(events) + json.dumps(listed)
    assert vc.get("/api/v1/intents/missing/invocations").status_code == 404


def test_registry(vc: Any) -> None:
    meta = {"base_url": "https://api.example.com", "endpoints": {"lookup": {"path": "/l"}}}
    cred = credential(vc, meta, auth_type="rest")
    grant(vc, cred, scopes=["search"])
    tools = ok(vc.get("/api/v1/tools"))["tools"]
    assert tools == [
        {
            "service": "svc",
            "credential_id": cred["id"],
            "vault_id": cred["vault_id"],
            "auth_type": "rest",
            "adapter": "rest",
            "tools": ["search", "charge", "notify", "lookup"],
        }
    ]
    svc = ok(vc.get("/api/v1/tools/svc"))
    assert svc["tools"] == ["search", "charge", "notify", "lookup"]
    assert vc.get("/api/v1/tools/unknown").status_code == 404
    granted = ok(vc.get("/api/v1/tools/granted?agent_id=agent-a"))["tools"]
    assert [t["tool"] for t in granted] == ["search", "svc"]
    assert (
        ok(vc.get("/api/v1/tools/granted", headers={"X-Agent-ID": "agent-a"}))["tools"] == granted
    )
    assert vc.get("/api/v1/tools/granted").status_code == 422


def test_invoke_bad_input(vc: Any) -> None:
    for body in (
        {"agent_id": "a"},
        {"tool_name": "t"},
        {"tool_name": "t", "agent_id": "a", "parameters": []},
        {"tool_name": "", "agent_id": "a"},
        {"tool_name": "t", "agent_id": "a", "context": {"intent_id": 3}},
    ):
        r = vc.post("/api/v1/tools/invoke", json=body)
        assert r.status_code == 422, (body, r.text)
    assert ok(vc.get("/api/v1/invocations"))["total"] == 0
