"""Server test fixtures: every test runs on SQLite, or on PostgreSQL when the session
sets OPENINTENT_TEST_PG_URL (nox ``server_pg``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from openintent.server import ServerConfig, create_app
from openintent.server.testing import DEV_KEY, ServerProcess, fresh_database_url

AUTH = {"X-API-Key": DEV_KEY}


@pytest.fixture
def database_url(tmp_path: object) -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """In-process app over litestar's test client, authenticated as ``dev-user-key``."""
    app = create_app(ServerConfig(database_url=database_url))
    with TestClient(app) as c:
        c.headers.update(AUTH)
        yield c


@pytest.fixture
def anon(database_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """Same app without an API key."""
    app = create_app(ServerConfig(database_url=database_url))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def live_server(database_url: str) -> Iterator[ServerProcess]:
    """A real server process (granian) on a free loopback port."""
    with ServerProcess(database_url) as srv:
        yield srv
