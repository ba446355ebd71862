"""The client needs only core, httpx and httpx-sse: importing it pulls no server stack."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import openintent.client, openintent.streaming
from openintent import OpenIntentClient, AsyncOpenIntentClient, SSEStream
client = OpenIntentClient("http://127.0.0.1:9", api_key="k")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"litestar", "piccolo", "granian", "uvicorn", "fastapi"} or m.startswith("openintent.server"))
print(",".join(loaded))
"""


def test_client_imports_without_the_server_stack() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_public_surface() -> None:
    import openintent.client as client

    assert {"OpenIntentClient", "AsyncOpenIntentClient", "Call", "endpoint"} <= set(client.__all__)
    for name in client.__all__:
        assert hasattr(client, name)
