"""Minimal keep-alive HTTP client for fixtures (not for measured load: that is wrk's job)."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["Api"]

KEY = "dev-user-key"


class Api:
    """Thread-safe: every thread gets its own keep-alive connection."""

    def __init__(self, port: int, key: str = KEY) -> None:
        self.port, self.key = port, key
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return conn

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        hdrs = {"X-API-Key": self.key, "Content-Type": "application/json", **(headers or {})}
        payload = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, path, payload, hdrs)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if resp.status != 200:
            raise RuntimeError(f"{method} {path} -> {resp.status}: {data[:300]!r}")
        return json.loads(data)

    def create_intent(self, title: str = "bench fixture") -> dict[str, Any]:
        return self.call("POST", "/api/v1/intents", {"title": title, "description": "fixture"})

    def intent(self, intent_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/intents/{intent_id}")

    def append(self, intent_id: str, n: int) -> dict[str, Any]:
        body = {"event_type": "comment", "actor": "bench", "payload": {"n": n}}
        return self.call("POST", f"/api/v1/intents/{intent_id}/events", body)

    def events(self, intent_id: str, limit: int = 1000) -> list[Any]:
        return self.call("GET", f"/api/v1/intents/{intent_id}/events?limit={limit}")

    def intents_many(self, count: int, threads: int = 8) -> list[str]:
        with ThreadPoolExecutor(threads) as pool:
            return [
                i["id"]
                for i in pool.map(lambda k: self.create_intent(f"fixture {k}"), range(count))
            ]

    def append_many(self, intent_id: str, count: int, threads: int = 8) -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda k: self.append(intent_id, k), range(count)))
