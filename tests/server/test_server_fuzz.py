"""Schemathesis over every operation of our own ``/openapi.json``: no 5xx, JSON everywhere.

The document is built from the app at collection time (one test per operation, so routes
other areas add are covered without touching this file; a test checks that the running
server serves the same document) and every request goes to a real server process.
SSE routes are left out (their 200 never ends).
Each generated request is sent as generated and, when it names an intent, once more
against a real intent with its current ``If-Match``, so that handlers past the 404
check are reached too.

CI runs the fuzzing phase (valid and invalid inputs) with a fixed seed and a bounded
budget: about ``TOTAL_EXAMPLES`` generated cases spread over the operations (3 to 10
each), so the run stays near a minute however many routes there are. For a deeper run: ``OPENINTENT_FUZZ_EXAMPLES=200 OPENINTENT_FUZZ_COVERAGE=1
OPENINTENT_FUZZ_SEED=$RANDOM pytest tests/server/test_server_fuzz.py`` (the coverage
phase adds schemathesis' systematic boundary and wrong-type cases, ~100 per operation).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance

from openintent.server import ServerConfig, create_app
from openintent.server.testing import DEV_KEY, ServerProcess, fresh_database_url

AUTH = {"X-API-Key": DEV_KEY}
TOTAL_EXAMPLES = 1100
COVERAGE = os.environ.get("OPENINTENT_FUZZ_COVERAGE", "") not in ("", "0")
SEED = os.environ.get("OPENINTENT_FUZZ_SEED")
JSON_TYPES = ("application/json", "application/problem+json")
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def _document() -> dict[str, Any]:
    # Routes only: the app is never started, so this database is never opened.
    unused = Path(tempfile.gettempdir()) / "openintent-fuzz-never-opened.db"
    return create_app(ServerConfig(database_url=f"sqlite:///{unused}")).openapi_schema.to_schema()


def _is_stream(operation: dict[str, Any]) -> bool:
    return "text/event-stream" in json.dumps(operation.get("responses", {}))


DOCUMENT = _document()
OPERATIONS = [
    op
    for item in DOCUMENT["paths"].values()
    for method, op in item.items()
    if method in HTTP_METHODS and not _is_stream(op)
]
EXAMPLES = int(
    os.environ.get("OPENINTENT_FUZZ_EXAMPLES")
    or max(3, min(10, TOTAL_EXAMPLES // max(1, len(OPERATIONS))))
)


def _config() -> Any:
    return schemathesis.config.SchemathesisConfig.from_dict(
        {
            "seed": int(SEED) if SEED else 20261126,
            "headers": AUTH,
            "request-timeout": 10,
            "generation": {"max-examples": EXAMPLES, "mode": "all", "deterministic": not SEED},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": COVERAGE},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )


def _streams(ctx: Any) -> bool:
    return _is_stream(ctx.operation.definition.raw)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ServerProcess]:
    with fresh_database_url() as url, ServerProcess(url) as srv:
        yield srv


@pytest.fixture(scope="module")
def seeded(fuzz_server: ServerProcess) -> dict[str, str]:
    """Ids of real objects, substituted for generated path ids on a second call."""
    base = fuzz_server.base_url
    ids = {}
    intent = httpx.post(f"{base}/api/v1/intents", json={"title": "fuzz target"}, headers=AUTH)
    assert intent.status_code == 200, intent.text
    ids["intent_id"] = intent.json()["id"]
    portfolio = httpx.post(f"{base}/api/v1/portfolios", json={"name": "fuzz"}, headers=AUTH)
    if portfolio.status_code == 200:
        ids["portfolio_id"] = portfolio.json()["id"]
    return ids


schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config()).exclude(func=_streams)


def test_fuzzed_document_is_the_served_one(fuzz_server: ServerProcess) -> None:
    served = httpx.get(f"{fuzz_server.base_url}/openapi.json")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/json")
    assert served.json() == json.loads(json.dumps(DOCUMENT))
    bodies = [op for op in OPERATIONS if "requestBody" in op]
    assert len(bodies) >= 10  # request bodies are described, so bodies get generated


def _assert_protocol_shape(case: Any, response: Any) -> None:
    """Every body is JSON; every error is an object with ``detail`` and ``message``."""
    label = f"{case.method} {case.formatted_path} body={case.body!r:.300}"
    if not response.content:
        assert response.status_code in (200, 204), f"{label}: empty {response.status_code}"
        return
    content_type = (response.headers.get("content-type") or [""])[0]  # header -> list of values
    media = content_type.split(";")[0].strip()
    assert media in JSON_TYPES, f"{label}: {response.status_code} answered as {media!r}"
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert isinstance(body, dict), f"{label}: error body {body!r:.300}"
        assert "detail" in body, f"{label}: error without detail {body!r:.300}"
        assert "message" in body, f"{label}: error without message {body!r:.300}"


def _call(case: Any, base_url: str, headers: dict[str, str] | None = None) -> None:
    response = case.call_and_validate(
        base_url=base_url, headers=headers, checks=[not_a_server_error, content_type_conformance]
    )
    _assert_protocol_shape(case, response)


@schema.parametrize()
def test_no_operation_answers_a_server_error(
    case: Any, fuzz_server: ServerProcess, seeded: dict[str, str]
) -> None:
    _call(case, fuzz_server.base_url)
    names = set(case.path_parameters or {}) & set(seeded)
    if not names:
        return
    for name in names:
        case.path_parameters[name] = seeded[name]
    headers = None
    if "intent_id" in names:
        current = httpx.get(
            f"{fuzz_server.base_url}/api/v1/intents/{seeded['intent_id']}", headers=AUTH
        )
        if current.status_code == 200:
            headers = {"If-Match": str(current.json()["version"])}
    _call(case, fuzz_server.base_url, headers)
