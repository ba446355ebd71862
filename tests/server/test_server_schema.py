"""Start-up migrations of an older schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from openintent.server import ServerConfig, create_app
from openintent.server.testing import DEV_KEY

AUTH = {"X-API-Key": DEV_KEY}
DROPPED = {"oi_events_intent_id", "oi_stream_channel", "oi_intents_parent_id"}
COVERING = {"oi_events_intent_seq", "oi_stream_channel_seq", "oi_intents_parent"}


async def _index_names(engine: Any) -> set[str]:
    if engine.engine_type == "postgres":
        rows = await engine.run_ddl(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = await engine.run_ddl("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {row["name"] for row in rows}


def test_single_column_indexes_covered_by_others_are_dropped(database_url: str) -> None:
    """A database from before migration 2 still has three single-column indexes; the
    next start drops them and the data and lookups they served stay the same."""
    app = create_app(ServerConfig(database_url=database_url))
    with TestClient(app) as c:
        c.headers.update(AUTH)
        parent = c.post("/api/v1/intents", json={"title": "parent"}).json()["id"]
        child = c.post("/api/v1/intents", json={"title": "c", "parent_intent_id": parent})
        assert child.status_code == 200, child.text

        async def back_to_the_old_schema() -> set[str]:
            engine = app.state.db.engine
            await engine.run_ddl("CREATE INDEX oi_events_intent_id ON oi_events (intent_id)")
            await engine.run_ddl("CREATE INDEX oi_stream_channel ON oi_stream (channel)")
            await engine.run_ddl("CREATE INDEX oi_intents_parent_id ON oi_intents (parent_id)")
            await engine.run_ddl("DELETE FROM oi_schema WHERE version = 2")
            return await _index_names(engine)

        with c.portal() as portal:
            assert portal.call(back_to_the_old_schema) >= DROPPED

    again = create_app(ServerConfig(database_url=database_url))
    with TestClient(again) as c:
        c.headers.update(AUTH)
        with c.portal() as portal:
            names = portal.call(_index_names, again.state.db.engine)
        assert not names & DROPPED
        assert names >= COVERING
        children = c.get(f"/api/v1/intents/{parent}/children").json()["children"]
        assert [kid["id"] for kid in children] == [child.json()["id"]]
        events = c.get(f"/api/v1/intents/{parent}/events").json()
        assert [e["event_type"] for e in events] == ["intent_created"]


def test_children_and_event_lookups_use_the_remaining_indexes(client: Any) -> None:
    """SQLite's planner reads the partial and composite indexes for these lookups."""
    engine = client.app.state.db.engine
    if engine.engine_type != "sqlite":
        return
    plans = {
        "oi_intents_parent": "SELECT id FROM oi_intents WHERE parent_id = 'x'",
        "oi_events_intent_seq": "SELECT seq FROM oi_events WHERE intent_id = 'x'",
        "oi_stream_channel_seq": "SELECT seq FROM oi_stream WHERE channel = 'x' AND seq > 0",
    }
    for index, query in plans.items():
        with client.portal() as portal:
            rows = portal.call(engine.run_ddl, f"EXPLAIN QUERY PLAN {query}")
        assert any(index in str(row) for row in rows), (index, rows)
