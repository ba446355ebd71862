"""Constant SQL for hot paths, run without building a piccolo query per call.

piccolo composes and compiles the SQL text of every query on every call, which costs
more CPU than SQLite takes to answer a point query. The statements that run on every
request (fetch an intent, bump its version, append an event) are written once here as
:class:`Statement` constants with ``?`` placeholders and run through
:meth:`Database.fetch` / :meth:`Database.execute`. They use the same tables and
columns as the piccolo models in ``tables.py``; everything else keeps using piccolo.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["Statement"]

_PLACEHOLDER = re.compile(r"\?")


def _numbered(sql: str) -> str:
    counter = iter(range(1, sql.count("?") + 1))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


@attrs.frozen
class Statement:
    """One SQL text in both dialects: ``?`` for SQLite, ``$1, $2, ...`` for PostgreSQL.

    Write the text without ``?`` inside string literals; every ``?`` is a parameter.
    """

    sqlite: str
    postgres: str = attrs.field()

    @postgres.default
    def _postgres(self) -> str:
        return _numbered(self.sqlite)

    @classmethod
    def of(cls, sql: str) -> Statement:
        return cls(" ".join(sql.split()))
