"""The server process: crash safety, clean shutdown, command line."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx

from openintent.server.testing import DEV_KEY, ServerProcess, free_port

AUTH = {"X-API-Key": DEV_KEY}


def test_acknowledged_writes_survive_kill_9(database_url: str) -> None:
    acknowledged: list[str] = []
    stop = threading.Event()
    srv = ServerProcess(database_url).start()

    def load(worker: int) -> None:
        with httpx.Client(base_url=srv.base_url, headers=AUTH, timeout=5) as c:
            n = 0
            while not stop.is_set():
                try:
                    r = c.post("/api/v1/intents", json={"title": f"w{worker}-{n}"})
                except httpx.HTTPError:
                    return  # the server died mid-request: that write was never acknowledged
                if r.status_code == 200:
                    acknowledged.append(r.json()["id"])
                n += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill()  # SIGKILL while writes are in flight
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acknowledged) > 50, "the load ran"

    with (
        ServerProcess(database_url) as again,
        httpx.Client(base_url=again.base_url, headers=AUTH) as c,
    ):
        missing = [i for i in acknowledged if c.get(f"/api/v1/intents/{i}").status_code != 200]
        total = c.get("/api/v1/intents", params={"limit": 1}).json()["total"]
    assert missing == []
    assert total >= len(acknowledged)


def test_sigterm_with_open_stream_exits_within_5s(database_url: str) -> None:
    srv = ServerProcess(database_url).start()
    opened = threading.Event()

    def hold_stream() -> None:
        try:
            with httpx.stream(
                "GET", f"{srv.base_url}/api/v1/subscribe/intents/x", headers=AUTH, timeout=30
            ) as r:
                opened.set()
                for _ in r.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    t = threading.Thread(target=hold_stream, daemon=True)
    t.start()
    assert opened.wait(10)
    started = time.monotonic()
    code = srv.stop(timeout=15)
    elapsed = time.monotonic() - started
    assert elapsed < 7.0, f"shutdown took {elapsed:.1f} s"
    assert code in (0, -15), code


def test_cli_version_and_bad_flags() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "openintent.server", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("openintent-server ")
    bad = subprocess.run(
        [sys.executable, "-m", "openintent.server", "--port", "0", "--log-level", "loud"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2


def test_environment_configures_keys_and_flags_win(database_url: str) -> None:
    port = free_port()
    srv = ServerProcess(database_url, port=port, api_keys="flag-key")
    srv.env = {"OPENINTENT_API_KEYS": "env-key"}
    with srv:
        assert (
            httpx.get(
                f"{srv.base_url}/api/v1/intents", headers={"X-API-Key": "flag-key"}
            ).status_code
            == 200
        )
        assert (
            httpx.get(
                f"{srv.base_url}/api/v1/intents", headers={"X-API-Key": "env-key"}
            ).status_code
            == 401
        )
