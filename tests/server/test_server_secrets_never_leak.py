"""Acceptance (issue 4): after credentials are created and tools invoked, no secret value
appears in any response body, event payload, SSE stream, server log line, stored row or
database file.

A real server process (debug logging) calls a stub upstream on loopback that echoes
everything it receives, headers included, so every secret the proxy injects comes
straight back at it. The calls cover each adapter (header, query, basic, bearer,
OAuth2 refresh, signed webhook) and each failure path (upstream 4xx/5xx, timeout,
connection refused, refused host, refused grant), plus credential rotation, manual
invocation records and rejected requests that carried secrets.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from openintent.server.testing import DEV_KEY, ServerProcess

AGENT = "agent-leak"
HEADERS = {"X-API-Key": DEV_KEY, "X-Agent-ID": AGENT}
SECRETS = {
    "api_key": "sk_live_LEAK_api_7f3a9c",
    "rotated": "sk_live_LEAK_rotated_19b2",
    "header": "hdr_LEAK_static_55d1e0",
    "query": "qry_LEAK_param_0c4f71",
    "password": "pw_LEAK_basic_a81b2c",
    "client_secret": "cs_LEAK_oauth_3e9d47",
    "access_token": "at_LEAK_stale_6b2f08",
    "fresh_token": "at_LEAK_fresh_d47e19",
    "signing": "whsec_LEAK_sign_92ac3f",
    "nested": "nst_LEAK_deep_1f6e2a",
}


class EchoUpstream:
    def __init__(self) -> None:
        fresh = SECRETS["fresh_token"]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                echo = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length).decode(errors="replace") if length else "",
                }
                code = 200
                if self.path.startswith("/slow"):
                    time.sleep(2.0)
                elif self.path.startswith("/status/"):
                    code = int(self.path.split("/")[2].split("?")[0])
                elif self.path.startswith("/token"):
                    echo = {"access_token": fresh, "token_type": "bearer", "echo": echo}
                elif (
                    self.path.startswith("/oauth")
                    and echo["headers"].get("Authorization") != f"Bearer {fresh}"
                ):
                    code = 401
                data = json.dumps(echo).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except BrokenPipeError:  # the proxy gave up waiting (the timeout case)
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class StreamTap:
    """Collects everything an SSE endpoint sends until :meth:`stop`."""

    def __init__(self, base_url: str, path: str) -> None:
        self.text: list[str] = []
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base_url, path), daemon=True)
        self._thread.start()
        assert self.opened.wait(10), f"stream {path} did not open"

    def _run(self, base_url: str, path: str) -> None:
        with (
            httpx.Client(base_url=base_url, headers=HEADERS, timeout=None) as c,
            c.stream("GET", path) as r,
        ):
            self.opened.set()
            for chunk in r.iter_text():
                self.text.append(chunk)
                if self._stop.is_set():
                    return

    def stop(self) -> str:
        self._stop.set()
        self._thread.join(5)
        return "".join(self.text)


@pytest.fixture
def upstream() -> Iterator[EchoUpstream]:
    stub = EchoUpstream()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def _dump_database(url: str) -> str:
    """Every row of every table, as text."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return "\n".join(
                repr(row) for name in names for row in conn.execute(f'SELECT * FROM "{name}"')
            )

    async def dump() -> str:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            names = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
            rows = [
                repr(dict(r)) for name in names for r in await conn.fetch(f'SELECT * FROM "{name}"')
            ]
            return "\n".join(rows)
        finally:
            await conn.close()

    return asyncio.run(dump())


def test_no_secret_leaves_the_server(database_url: str, upstream: EchoUpstream) -> None:
    env = {
        "OPENINTENT_SECRET_KEY": "leak-test-key-0123456789abcdef!!",
        "OPENINTENT_TOOL_ALLOW_HOSTS": "127.0.0.1",
    }
    bodies: list[str] = []
    with ServerProcess(database_url, env=env, extra_args=("--log-level", "debug")) as srv:
        c = httpx.Client(base_url=srv.base_url, headers=HEADERS, timeout=30)

        def call(method: str, path: str, **kw: Any) -> Any:
            response = c.request(method, path, **kw)
            bodies.append(response.text)
            assert response.status_code < 500 or response.status_code in (502, 503, 504), (
                response.text
            )
            return response.json() if response.content else None

        intent = call("POST", "/api/v1/intents", json={"title": "leak check"})
        taps = [
            StreamTap(srv.base_url, p)
            for p in (
                f"/api/v1/subscribe/agents/{AGENT}",
                f"/api/v1/subscribe/intents/{intent['id']}",
                f"/api/v1/agents/{AGENT}/subscribe",
                f"/api/v1/intents/{intent['id']}/subscribe",
            )
        ]
        vault = call("POST", "/api/v1/vaults", json={"owner_id": "owner", "name": "v"})
        tools = ["search", "fail", "deny", "slow", "q", "down", "b", "hook", "o", "blocked"]

        def cred(
            service: str, auth_type: str, metadata: dict[str, Any], scopes: list[str]
        ) -> dict[str, Any]:
            made: dict[str, Any] = call(
                "POST",
                "/api/v1/credentials",
                json={
                    "vault_id": vault["id"],
                    "service": service,
                    "label": service,
                    "auth_type": auth_type,
                    "scopes_available": scopes,
                    "metadata": metadata,
                },
            )
            call("GET", f"/api/v1/credentials/{made['id']}")
            call(
                "POST",
                "/api/v1/grants",
                json={
                    "credential_id": made["id"],
                    "agent_id": AGENT,
                    "granted_by": "owner",
                    "scopes": scopes,
                },
            )
            return made

        rest = cred(
            "rest",
            "bearer_token",
            {
                "base_url": upstream.url,
                "api_key": SECRETS["api_key"],
                "timeout_ms": 1000,
                "auth": {"token": SECRETS["nested"]},
                "endpoints": {
                    "search": {
                        "path": "/echo",
                        "method": "GET",
                        "headers": {"X-Static-Key": SECRETS["header"]},
                    },
                    "fail": {"path": "/status/500"},
                    "deny": {"path": "/status/403"},
                    "slow": {"path": "/slow"},
                },
            },
            ["search", "fail", "deny", "slow"],
        )
        cred(
            "query",
            "api_key",
            {"base_url": upstream.url, "api_key": SECRETS["query"], "auth": {"location": "query"}},
            ["q"],
        )
        cred(
            "down",
            "api_key",
            {
                "base_url": "http://127.0.0.1:9",
                "api_key": SECRETS["query"],
                "auth": {"location": "query"},
            },
            ["down"],
        )
        cred(
            "basic",
            "basic_auth",
            {"base_url": upstream.url, "username": "robot", "password": SECRETS["password"]},
            ["b"],
        )
        cred(
            "hook",
            "webhook",
            {"base_url": f"{upstream.url}/hook", "signing_secret": SECRETS["signing"]},
            ["hook"],
        )
        cred(
            "oauth",
            "oauth2_client_credentials",
            {
                "base_url": f"{upstream.url}/oauth",
                "access_token": SECRETS["access_token"],
                "token_url": f"{upstream.url}/token",
                "client_id": "client-1",
                "client_secret": SECRETS["client_secret"],
            },
            ["o"],
        )
        cred(
            "blocked",
            "api_key",
            {"base_url": "http://169.254.169.254/latest", "api_key": SECRETS["api_key"]},
            ["blocked"],
        )

        for tool in tools:
            parameters: dict[str, Any] = {"q": "hello"}
            if tool in ("search", "fail", "deny", "slow"):
                # even a parameter carrying the credential's own secret comes back scrubbed
                parameters["echo"] = SECRETS["api_key"]
            call(
                "POST",
                "/api/v1/tools/invoke",
                json={
                    "tool_name": tool,
                    "agent_id": AGENT,
                    "context": {"intent_id": intent["id"]},
                    "parameters": parameters,
                },
            )
        call(
            "POST",
            "/api/v1/tools/invoke",
            json={
                "tool_name": "nothing",
                "agent_id": AGENT,
                "context": {"intent_id": intent["id"]},
            },
        )
        rotated = call(
            "PATCH",
            f"/api/v1/credentials/{rest['id']}/rotate",
            json={"metadata": {"api_key": SECRETS["rotated"]}},
        )
        assert rotated["rotated_at"]
        call("POST", "/api/v1/tools/invoke", json={"tool_name": "search", "agent_id": AGENT})
        grants = call("GET", f"/api/v1/agents/{AGENT}/grants")
        call(
            "POST",
            "/api/v1/invocations",
            json={
                "grant_id": grants[0]["id"],
                "service": "rest",
                "tool": "search",
                "agent_id": AGENT,
                "result": {"leaked": SECRETS["rotated"]},
                "error": {"message": f"key {SECRETS['rotated']}"},
            },
        )
        # rejected requests that carried secret material
        call(
            "POST",
            "/api/v1/credentials",
            json={
                "vault_id": vault["id"],
                "service": 5,
                "label": "x",
                "metadata": {"api_key": SECRETS["api_key"]},
            },
        )
        call(
            "POST",
            "/api/v1/credentials",
            json={
                "vault_id": "missing",
                "service": "s",
                "label": "x",
                "metadata": {"password": SECRETS["password"]},
            },
        )
        call(
            "POST",
            "/api/v1/credentials",
            json={
                "vault_id": vault["id"],
                "service": "s",
                "label": "x",
                "metadata": SECRETS["api_key"],
            },
        )
        # everything readable
        for path in (
            "/api/v1/vaults",
            f"/api/v1/vaults/{vault['id']}",
            f"/api/v1/vaults/{vault['id']}/credentials",
            "/api/v1/grants",
            "/api/v1/invocations?limit=1000",
            f"/api/v1/intents/{intent['id']}/events",
            f"/api/v1/intents/{intent['id']}/invocations",
            "/api/v1/tools",
            f"/api/v1/tools/granted?agent_id={AGENT}",
        ):
            call("GET", path)
        for g in grants:
            call("GET", f"/api/v1/grants/{g['id']}/invocations")
        time.sleep(0.5)  # let the streams deliver the last messages
        streams = [tap.stop() for tap in taps]
        c.close()
        log = srv.log_tail(limit=50_000_000)

    outputs = {
        "responses": "\n".join(bodies),
        "streams": "\n".join(streams),
        "log": log,
        "rows": _dump_database(database_url),
    }
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        files = [
            p
            for p in path.parent.iterdir()
            if p.name.startswith(path.name) and not p.name.endswith(".secret-key")
        ]
        outputs["database files"] = "\n".join(p.read_bytes().decode("latin-1") for p in files)

    # The test saw what it claims to have checked.
    assert "tool.invoked" in outputs["streams"]
    assert "tool.denied" in outputs["streams"]
    assert "grant.created" in outputs["streams"]
    assert "credential.rotated" in outputs["streams"]
    assert "tool.invoked" in outputs["rows"]
    assert "sealed" not in outputs["responses"]
    # the outbound request line of the query-auth call was logged, with its key scrubbed
    assert "api_key=[REDACTED]" in log, log[-2000:]
    assert '"Authorization":"[REDACTED]"' in outputs["responses"]  # the echo came back, scrubbed
    for where, text in outputs.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"secret {name!r} found in {where}"
