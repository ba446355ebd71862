"""Drive a server with the released reference client (openintent 0.17.0).

Runs inside the reference virtualenv's python, so ``openintent`` here is the reference
package, never ours:

    python ref_client_scenario.py BASE_URL API_KEY [OTHER_API_KEY]

Every reference-client method in the RFC-0001..0017 scope (spec sdk.md section 3 and
the "Reference client mapping" tables of rfc-0001..0017) is called on the sync
``OpenIntentClient`` and on the ``AsyncOpenIntentClient``, plus the SSE entry points and
classes of ``openintent.streaming``. Results are checked (fields of the returned
models, round trips through the server). The last stdout line is a JSON object:

    {"results": {name: "ok" | "expected-failure: <reason>" | "FAIL: <error>"},
     "reference_version": ..., "sync_methods": [...], "async_methods": [...]}

"expected-failure" is only used for failures the spec documents as bugs of the
reference CLIENT, recognised by the exact exception they raise (see ``Step.client_bug``).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import json
import re
import sys
from typing import Any

from ref_client_harness import RESULTS, TRACE, Ctx, check, eq, step
from ref_client_steps_areas import area_steps
from ref_client_steps_core import core_steps
from ref_client_steps_rfc12_14 import coordinator_steps, tasks_plans_steps, vault_tool_steps
from ref_client_steps_rfc15_17 import agent_steps, memory_steps, trigger_steps, wire_steps
from ref_client_steps_sync import sync_only

from openintent import AsyncOpenIntentClient, OpenIntentClient


async def shared(cli: Any, other: Any, label: str) -> None:
    """Every in-scope method both clients have; ``label`` is the class name."""
    ctx = Ctx()
    await core_steps(cli, other, label, ctx)
    await area_steps(cli, label, ctx)
    # RFC-0012 .. RFC-0017
    await tasks_plans_steps(cli, label, ctx)
    await coordinator_steps(cli, label, ctx)
    await vault_tool_steps(cli, label, ctx)
    await memory_steps(cli, other, label, ctx)
    await agent_steps(cli, label, ctx)
    await trigger_steps(cli, label, ctx)
    await wire_steps(cli, label, ctx)


async def run_async(base_url: str, api_key: str, other_key: str) -> None:
    label = "AsyncOpenIntentClient"
    async with (
        AsyncOpenIntentClient(base_url, api_key, "ref-async-agent") as cli,
        AsyncOpenIntentClient(base_url, other_key, "ref-async-other") as other,
    ):
        TRACE.attach_async(cli)
        await shared(cli, other, label)
        with step(f"{label}.get_server_config"):
            config = await cli.get_server_config()
            check("protocol_version" in config, f"server config: {config}")
    with step(f"{label}.close"):
        closing = AsyncOpenIntentClient(base_url, api_key, "ref-async-agent")
        await closing.discover()
        await closing.close()
        check(closing._client.is_closed, "httpx client closed")


def run_sync(base_url: str, api_key: str, other_key: str) -> None:
    with (
        OpenIntentClient(base_url + "/", api_key, "ref-agent") as cli,
        OpenIntentClient(base_url, other_key, "ref-agent-2") as other,
    ):
        eq(cli.base_url, base_url, "trailing slash stripped")
        TRACE.attach_sync(cli)
        asyncio.run(shared(cli, other, "OpenIntentClient"))
        sync_only(cli, other)
    with step("OpenIntentClient.close"):
        closing = OpenIntentClient(base_url, api_key, "ref-agent")
        closing.discover()
        closing.close()
        check(closing._client.is_closed, "httpx client closed")


def method_paths(cls: type) -> dict[str, list[str]]:
    """The API path templates each public method's source names (for scope checks)."""
    found: dict[str, list[str]] = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        try:
            source = inspect.getsource(getattr(cls, name))
        except (OSError, TypeError):
            continue
        found[name] = re.findall(r'"(/api/v1/[^"?{}]*(?:\{[^"}]*\}[^"?{}]*)*)', source)
    return found


def main(argv: list[str]) -> int:
    base_url, api_key = argv[1], argv[2]
    other_key = argv[3] if len(argv) > 3 else api_key
    run_sync(base_url, api_key, other_key)
    asyncio.run(run_async(base_url, api_key, other_key))
    report = {
        "reference_version": importlib.metadata.version("openintent"),
        "sync_methods": sorted(n for n in dir(OpenIntentClient) if not n.startswith("_")),
        "async_methods": sorted(n for n in dir(AsyncOpenIntentClient) if not n.startswith("_")),
        "sync_paths": method_paths(OpenIntentClient),
        "async_paths": method_paths(AsyncOpenIntentClient),
        "results": RESULTS,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
