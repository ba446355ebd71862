"""The product page's server and client examples, run as written against real processes.

Only the host, port and database are adapted (the page uses PostgreSQL and a public
host); every call is the page's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from openintent.server.testing import ServerProcess, free_port, fresh_database_url, wait_until_ready


@pytest.fixture
def server() -> object:
    with fresh_database_url() as url, ServerProcess(url) as srv:
        yield srv


def test_quickstart_default_server_and_curl(tmp_path: Path) -> None:
    """`openintent-server` with no flags: SQLite file in the working directory, dev keys."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENINTENT_API_KEYS", "DATABASE_URL", "OPENINTENT_DATABASE_URL")
    }
    env["OPENINTENT_PORT"] = str(port)  # the page's port 8000 may be taken on a test machine
    exe = Path(sys.executable).with_name("openintent-server")
    proc = subprocess.Popen(
        [str(exe)], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", proc=proc)
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/intents",
            headers={"Content-Type": "application/json", "X-API-Key": "dev-user-key"},
            content=b'{"title": "Hello World", "created_by": "me"}',
        )
        assert r.status_code == 200
        assert r.json()["title"] == "Hello World"
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        assert (tmp_path / "openintent.db").exists()
    finally:
        proc.terminate()
        proc.wait(15)


def test_programmatic_server_with_config(tmp_path: Path) -> None:
    port = free_port()
    script = textwrap.dedent(f"""
        from openintent.server import OpenIntentServer, ServerConfig

        config = ServerConfig(
            port={port},
            database_url="sqlite:///{tmp_path}/seed.db",
            api_keys={{"my-secret-key", "agent-key"}},
        )
        server = OpenIntentServer(config=config)
        server.run()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", proc=proc)
        base = f"http://127.0.0.1:{port}/api/v1/intents"
        assert (
            httpx.post(base, json={"title": "x"}, headers={"X-API-Key": "agent-key"}).status_code
            == 200
        )
        assert (
            httpx.post(base, json={"title": "x"}, headers={"X-API-Key": "dev-user-key"}).status_code
            == 401
        )
    finally:
        proc.terminate()
        proc.wait(15)


def test_client_usage_and_error_handling(server: ServerProcess) -> None:
    from openintent import (
        ConflictError,
        LeaseConflictError,
        NotFoundError,
        OpenIntentClient,
    )

    client = OpenIntentClient(
        base_url=server.base_url,
        api_key="dev-user-key",
        agent_id="my-agent",
    )
    intent = client.create_intent(
        title="Research market trends",
        description="Analyze Q4 market data",
        constraints={"deadline": "2024-02-01"},
    )
    client.update_state(
        intent.id,
        intent.version,
        {"progress": 0.5, "phase": "analysis"},
    )
    with client.lease(intent.id, "analysis", duration_seconds=300) as lease:
        pass  # Exclusive scope access
    client.set_status(intent.id, intent.version + 1, "completed")

    final = client.get_intent(intent.id)
    assert final.status == "completed"
    assert final.state.get("phase") == "analysis"
    assert lease is not None

    outcome = None
    try:
        intent = client.get_intent("nonexistent")
    except NotFoundError:
        outcome = "Not found"
    except ConflictError:
        outcome = "Version conflict"
    except LeaseConflictError:
        outcome = "Lease conflict"
    assert outcome == "Not found"

    # The page's short constructor form works too.
    short = OpenIntentClient(base_url=server.base_url, api_key="dev-user-key")
    assert short.create_intent(title="Research AI trends").title == "Research AI trends"
    short.close()
    client.close()
