"""Constant statements on the core tables (``tables.py``) for the per-request paths."""

from __future__ import annotations

import attrs

from openintent.server.store.sql import Statement

__all__ = [
    "ASSIGNED_AGENTS",
    "BUMP_STATE",
    "BUMP_STATUS",
    "EVENT_PAGE",
    "INSERT_EVENT",
    "INSERT_INTENT",
    "INSERT_STREAM",
    "INTENT_BY_ID",
    "INTENT_COLUMNS",
    "INTENT_COLUMN_NAMES",
    "INTENT_EXISTS",
    "INTENT_VERSION",
    "INTENT_WIRE_BY_ID",
]

INTENT_COLUMN_NAMES = (
    "id",
    "title",
    "description",
    "created_by",
    "parent_id",
    "depends_on",
    "constraints",
    "state",
    "status",
    "confidence",
    "version",
    "governance_policy",
    "created_at",
    "updated_at",
)
INTENT_COLUMNS = ", ".join(INTENT_COLUMN_NAMES)

INSERT_INTENT = Statement.of(
    f"INSERT INTO oi_intents ({INTENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INTENT_BY_ID = Statement.of(f"SELECT {INTENT_COLUMNS} FROM oi_intents WHERE id = ?")
# For ``store.wire_rows.encode_intent``: on SQLite the timestamps come back as the
# wire text (stored ``str(datetime)`` with a "T"), skipping two datetime round trips.
_WIRE_COLUMNS_SQLITE = (
    "id, title, description, created_by, parent_id, depends_on, constraints, state,"
    " status, confidence, version, governance_policy,"
    " replace(CAST(created_at AS TEXT), ' ', 'T') AS created_at,"
    " replace(CAST(updated_at AS TEXT), ' ', 'T') AS updated_at"
)


def _wire(sql: str) -> Statement:
    """``sql`` with ``{columns}`` as the wire columns on SQLite, plain ones on PostgreSQL."""
    return Statement(
        Statement.of(sql.format(columns=_WIRE_COLUMNS_SQLITE)).sqlite,
        Statement.of(sql.format(columns=INTENT_COLUMNS)).postgres,
    )


INTENT_WIRE_BY_ID = _wire("SELECT {columns} FROM oi_intents WHERE id = ?")
INTENT_EXISTS = Statement.of("SELECT 1 AS found FROM oi_intents WHERE id = ?")
INTENT_VERSION = Statement.of("SELECT version FROM oi_intents WHERE id = ?")

# Compare-and-set: one conditional UPDATE; no row back means another writer won. The
# row comes back ready for ``encode_intent``.
BUMP_STATE = _wire(
    "UPDATE oi_intents SET version = version + 1, updated_at = ?, state = ?"
    " WHERE id = ? AND version = ? RETURNING {columns}"
)
BUMP_STATUS = _wire(
    "UPDATE oi_intents SET version = version + 1, updated_at = ?, status = ?"
    " WHERE id = ? AND version = ? RETURNING {columns}"
)

INSERT_EVENT = Statement.of(
    "INSERT INTO oi_events (id, intent_id, event_type, actor, payload, created_at, wire)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# SQLite reads the new seq from the cursor's row id; PostgreSQL returns it.
INSERT_STREAM = attrs.evolve(
    Statement.of("INSERT INTO oi_stream (channel, name, data, created_at) VALUES (?, ?, ?, ?)"),
    postgres="INSERT INTO oi_stream (channel, name, data, created_at) VALUES ($1, $2, $3, $4)"
    " RETURNING seq",
)

ASSIGNED_AGENTS = Statement.of("SELECT agent_id FROM oi_assignments WHERE intent_id = ?")


def _event_page(by_type: bool, by_time: bool) -> Statement:
    return Statement.of(
        "SELECT wire FROM oi_events WHERE intent_id = ?"
        + (" AND event_type = ?" if by_type else "")
        + (" AND created_at >= ?" if by_time else "")
        + " ORDER BY seq DESC LIMIT ? OFFSET ?"
    )


#: A page of an intent's log, newest first, keyed by (event_type filter, since filter).
EVENT_PAGE: dict[tuple[bool, bool], Statement] = {
    (by_type, by_time): _event_page(by_type, by_time)
    for by_type in (False, True)
    for by_time in (False, True)
}
