"""Tables of RFC-0007: portfolios and their membership rows.

``seq`` keeps insertion order (lists are returned in it); ``id`` is the wire id.
Duplicate memberships are allowed, as in the reference: each add is one row.
"""

from __future__ import annotations

from piccolo.columns import BigSerial, Integer, Text, Timestamp, Varchar
from piccolo.table import Table

__all__ = ["MembershipRow", "PortfolioRow"]


class PortfolioRow(Table, tablename="oi_portfolios"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    name = Text()
    description = Text(default="")
    created_by = Text(default="", index=True)
    status = Varchar(length=32, default="active")
    governance_policy = Text(default="{}")
    metadata_json = Text(default="{}")
    created_at = Timestamp()
    updated_at = Timestamp()


class MembershipRow(Table, tablename="oi_portfolio_members"):
    seq = BigSerial(primary_key=True)
    id = Varchar(length=36, unique=True)
    portfolio_id = Varchar(length=36, index=True)
    intent_id = Varchar(length=255, index=True)
    role = Varchar(length=32, default="member")
    priority = Integer(default=0)
    added_at = Timestamp()
