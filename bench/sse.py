"""SSE fan-out scenario: S subscribers on one intent stream, a writer appends E events.

Subscribers run in a child process (``python sse.py subscribe ...``) and the writer in
the calling process, so neither side's Python work delays the other's clocks. Both
stamp with ``time.monotonic()`` (CLOCK_MONOTONIC, shared by all processes). Latency of
one delivery = receive time - the writer's acknowledgment time of that event (the HTTP
response of its POST); a negative value means the stream delivered it before the writer
had its response. Each posted event carries ``payload.n`` to identify it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["run_fanout"]

KEY = "dev-user-key"


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


# -- subscriber side -------------------------------------------------------------------


class _Dechunk:
    """Incremental decoder of a chunked transfer-encoded byte stream."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = 0  # data bytes of the current chunk still to come
        self.crlf = False  # the CRLF closing the current chunk is still to come

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = []
        while True:
            if self.crlf:
                if len(self.buf) < 2:
                    break
                self.buf, self.crlf = self.buf[2:], False
            if self.left == 0:
                end = self.buf.find(b"\r\n")
                if end < 0:
                    break
                self.left = int(self.buf[:end].split(b";")[0], 16)
                self.buf = self.buf[end + 2 :]
                if self.left == 0:  # last chunk
                    break
            take = self.buf[: self.left]
            out.append(take)
            self.buf, self.left = self.buf[len(take) :], self.left - len(take)
            if self.left:
                break
            self.crlf = True
        return b"".join(out)


async def _subscriber(
    port: int, path: str, ready: asyncio.Event, counter: list[int], got: list[tuple[int, float]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n".encode()
    )
    status, headers = await _read_head(reader)
    if status != 200:
        raise RuntimeError(f"subscribe -> HTTP {status}")
    counter[0] += 1
    if counter[0] == counter[1]:
        ready.set()
    chunked = "chunked" in headers.get("transfer-encoding", "")
    dechunk, text = _Dechunk(), b""
    while True:
        data = await reader.read(65536)
        now = time.monotonic()
        if not data:
            return
        text += dechunk.feed(data) if chunked else data
        text = text.replace(b"\r\n", b"\n")
        *blocks, text = text.split(b"\n\n")
        for block in blocks:
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    try:
                        n = json.loads(line[5:])["payload"]["n"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    got.append((n, now))


async def _subscribe_main(args: argparse.Namespace) -> None:
    ready = asyncio.Event()
    counter = [0, args.subscribers]
    got: list[list[tuple[int, float]]] = [[] for _ in range(args.subscribers)]
    path = f"/api/v1/subscribe/intents/{args.intent}"
    tasks = [
        asyncio.create_task(_subscriber(args.port, path, ready, counter, got[i]))
        for i in range(args.subscribers)
    ]
    await asyncio.wait_for(ready.wait(), 30)
    print("READY", flush=True)
    expected = args.subscribers * args.events
    loop = asyncio.get_running_loop()
    # stdin "DONE" = the writer finished; then wait for stragglers up to --grace seconds.
    done_reading = loop.run_in_executor(None, sys.stdin.readline)
    deadline = None
    while True:
        await asyncio.sleep(0.01)
        if sum(len(g) for g in got) >= expected:
            break
        if deadline is None and done_reading.done():
            deadline = time.monotonic() + args.grace
        if deadline is not None and time.monotonic() > deadline:
            break
    for t in tasks:
        t.cancel()
    Path(args.out).write_text(json.dumps(got))
    print("DONE", flush=True)


# -- writer side -----------------------------------------------------------------------


async def _writer(
    port: int, intent: str, todo: list[int], acks: dict[int, tuple[float, float]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    path = f"/api/v1/intents/{intent}/events"
    while todo:
        n = todo.pop(0)
        body = json.dumps({"event_type": "comment", "actor": "bench", "payload": {"n": n}}).encode()
        sent = time.monotonic()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, headers = await _read_head(reader)
        await _read_body(reader, headers)
        if status != 200:
            raise RuntimeError(f"append -> HTTP {status}")
        acks[n] = (sent, time.monotonic())
    writer.close()


async def _write_all(
    port: int, intent: str, events: int, writers: int
) -> dict[int, tuple[float, float]]:
    todo = list(range(events))
    acks: dict[int, tuple[float, float]] = {}
    await asyncio.gather(*(_writer(port, intent, todo, acks) for _ in range(writers)))
    return acks


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run_fanout(
    port: int, intent: str, subscribers: int, events: int, writers: int, workdir: Path,
    settle: float = 0.5, grace: float = 5.0,
) -> dict[str, Any]:  # fmt: skip
    out = workdir / f"sse-{port}-{writers}.json"
    child = subprocess.Popen(
        [sys.executable, __file__, "subscribe", "--port", str(port), "--intent", intent,
         "--subscribers", str(subscribers), "--events", str(events), "--out", str(out),
         "--grace", str(grace)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdin
    assert child.stdout
    if child.stdout.readline().strip() != "READY":
        child.kill()
        raise RuntimeError("SSE subscribers did not connect")
    # Let every stream reach its read loop server-side (the reference registers its
    # queue only when the response body starts).
    time.sleep(settle)
    t0 = time.monotonic()
    acks = asyncio.run(_write_all(port, intent, events, writers))
    write_seconds = time.monotonic() - t0
    child.stdin.write("DONE\n")
    child.stdin.flush()
    child.stdout.readline()
    child.wait(30)
    got = json.loads(out.read_text())
    from_ack, from_send, seen, dupes = [], [], 0, 0
    for deliveries in got:
        ns = set()
        for n, t in deliveries:
            if n in ns:
                dupes += 1
                continue
            ns.add(n)
            if n in acks:
                from_send.append((t - acks[n][0]) * 1000)
                from_ack.append((t - acks[n][1]) * 1000)
        seen += len(ns)
    expected = subscribers * events
    return {
        "subscribers": subscribers, "events": events, "writers": writers,
        "expected": expected, "delivered": seen, "lost": expected - seen, "duplicates": dupes,
        "write_seconds": write_seconds,
        "from_ack_ms": {str(p): _pct(from_ack, p) for p in (50, 90, 99)} | {"max": max(from_ack, default=float("nan"))},
        "from_send_ms": {str(p): _pct(from_send, p) for p in (50, 90, 99)} | {"max": max(from_send, default=float("nan"))},
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["subscribe"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--intent", required=True)
    p.add_argument("--subscribers", type=int, default=50)
    p.add_argument("--events", type=int, default=200)
    p.add_argument("--grace", type=float, default=5.0)
    p.add_argument("--out", required=True)
    asyncio.run(_subscribe_main(p.parse_args()))


if __name__ == "__main__":
    main()
