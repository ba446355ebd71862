"""Memory footprint: what a running server holds (benchmarks measure the sizes; these
tests pin the decisions that keep them small)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from openintent.server.testing import DEV_KEY, ServerProcess

# Packages the app has no use for at start-up: litestar's pydantic plugins (no pydantic
# models on any route), httpx with the CLI packages it drags in (first webhook or tool
# call), cryptography (first vault use).
LAZY = ("pydantic", "httpx", "click", "rich", "pygments", "cryptography")


def test_creating_and_starting_the_app_leaves_heavy_packages_unimported(tmp_path: Path) -> None:
    probe = f"""
import asyncio, sys
from openintent.server.app import create_app
from openintent.server.config import ServerConfig

app = create_app(ServerConfig(database_url="sqlite:///{tmp_path / "probe.db"}"))

async def get(path):  # a bare ASGI call: test clients would import httpx themselves
    sent = []
    async def receive():
        return {{"type": "http.request", "body": b"", "more_body": False}}
    async def send(message):
        sent.append(message)
    scope = {{"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "headers": [(b"x-api-key", b"{DEV_KEY}")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}}
    await app(scope, receive, send)
    return sent[0]["status"]

async def main():
    events = asyncio.Queue()
    await events.put({{"type": "lifespan.startup"}})
    replies = asyncio.Queue()
    task = asyncio.create_task(app({{"type": "lifespan"}}, events.get, replies.put))
    assert (await replies.get())["type"] == "lifespan.startup.complete"
    assert await get("/api/v1/intents") == 200
    assert await get("/openapi.json") == 200
    await events.put({{"type": "lifespan.shutdown"}})
    await task

asyncio.run(main())
print(",".join(sorted(m for m in {LAZY!r} if m in sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(done.stdout.strip().split(",")) - {""}
    assert not loaded, f"imported at start-up: {sorted(loaded)}"


def test_one_worker_serves_in_the_server_process_and_stops_with_streams_open(
    tmp_path: Path,
) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'one.db'}").start()
    try:
        assert server.proc is not None
        pid = server.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert children == [], "one worker needs no supervisor/worker process pair"
        with httpx.Client(base_url=server.base_url, headers={"X-API-Key": DEV_KEY}) as c:
            iid = c.post("/api/v1/intents", json={"title": "t"}).json()["id"]
            with c.stream("GET", f"/api/v1/subscribe/intents/{iid}", timeout=10) as stream:
                c.post(f"/api/v1/intents/{iid}/events", json={"event_type": "comment"})
                lines = stream.iter_lines()
                assert next(line for line in lines if line.startswith("id:"))
                server.proc.terminate()
                list(lines)  # returns: the server ends the stream instead of waiting on it
            assert server.proc.wait(timeout=5) == 0
    finally:
        server.stop()
