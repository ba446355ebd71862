"""Webhook delivery for RFC-0006 subscriptions: at-least-once, bounded retries.

Two steps, each safe to run in several server processes sharing one database:

1. **Match** - read the event log after a stored cursor, and for every live
   subscription an event matches (its intent, a member of its portfolio, or any intent;
   its event types; created after the subscription) insert one delivery row. A unique
   index makes the insert idempotent; the cursor moves by compare-and-set, so a
   process that lost the race rolls back. On PostgreSQL, event ``seq`` values become
   visible in commit order only roughly, so events are matched once they are
   ``lag`` seconds old (a transaction open longer than that could be skipped); SQLite
   commits writes one at a time, so no lag is needed there.
2. **Send** - claim due rows with a short lease (one conditional UPDATE), POST
   ``{"subscription_id", "event"}`` to the URL, then mark the row delivered (any 2xx)
   or schedule the next attempt with exponential backoff; after ``max_attempts`` the
   row is marked ``failed``. A process that dies mid-send leaves the lease to expire
   and the attempt is made again: a receiver may see a delivery twice and can
   de-duplicate on the ``X-OpenIntent-Delivery`` header.

The loop runs while :meth:`WebhookDispatcher.start` is in effect; :meth:`run_once` is
one pass of both steps (what tests call).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from openintent.core.converter import to_wire, utcnow
from openintent.models import IntentSubscription, WebhookDelivery
from openintent.server.ids import new_id
from openintent.server.services.events import event_from_row
from openintent.server.store.database import Database, dump_json, load_json
from openintent.server.store.portfolios_tables import MembershipRow
from openintent.server.store.subscriptions_tables import (
    SubscriptionRow,
    WebhookCursorRow,
    WebhookDeliveryRow,
)
from openintent.server.store.tables import EventRow

__all__ = ["WebhookDispatcher"]

log = logging.getLogger("openintent.server.webhooks")

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


class _LostRace(Exception):
    """Another process moved the cursor first; roll this pass back."""


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        *,
        interval: float = 0.5,
        max_attempts: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        timeout: float = 10.0,
        claim_seconds: float = 60.0,
        batch: int = 200,
        lag: float | None = None,
    ) -> None:
        self.db = db
        self.interval = interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.claim_seconds = claim_seconds
        self.batch = batch
        self.lag = (0.0 if db.is_sqlite else 2.0) if lag is None else lag
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="openintent-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # keep delivering after a bad pass (e.g. database restart)
                log.exception("webhook dispatch pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Match new events, then send what is due; returns the number of POSTs made."""
        while await self.match() == self.batch:
            pass
        return await self.send_due()

    # -- step 1: match events to subscriptions ----------------------------------------

    async def match(self) -> int:
        """Advance the cursor over one batch of events; returns how many were read."""
        # Look before taking the write lock: an idle server's passes stay read-only.
        if not await EventRow.exists().where(self._new_events(await self._peek_cursor())):
            return 0
        try:
            async with self.db.write():
                cursor = await self._cursor()
                where = self._new_events(cursor)
                subscriptions = await self._live_subscriptions()
                if not subscriptions:
                    # Nothing can match: skip to the end of the log without reading it.
                    rows = (
                        await EventRow.select(EventRow.seq)
                        .where(where)
                        .order_by(EventRow.seq, ascending=False)
                        .limit(1)
                    )
                else:
                    rows = (
                        await EventRow.select()
                        .where(where)
                        .order_by(EventRow.seq)
                        .limit(self.batch)
                    )
                if not rows:
                    return 0
                if subscriptions:
                    await self._enqueue(rows, subscriptions)
                moved = (
                    await WebhookCursorRow.update({WebhookCursorRow.last_seq: rows[-1]["seq"]})
                    .where((WebhookCursorRow.id == 1) & (WebhookCursorRow.last_seq == cursor))
                    .returning(WebhookCursorRow.id)
                )
                if not moved:
                    raise _LostRace
                return len(rows)
        except _LostRace:
            return 0

    def _new_events(self, cursor: int) -> Any:
        after = EventRow.seq > cursor
        if not self.lag:
            return after
        return after & (EventRow.created_at <= utcnow() - dt.timedelta(seconds=self.lag))

    async def _peek_cursor(self) -> int:
        rows = await WebhookCursorRow.select().where(WebhookCursorRow.id == 1)
        return int(rows[0]["last_seq"]) if rows else 0

    async def _cursor(self) -> int:
        rows = await WebhookCursorRow.select().where(WebhookCursorRow.id == 1)
        if rows:
            return int(rows[0]["last_seq"])
        await WebhookCursorRow.insert(WebhookCursorRow(id=1, last_seq=0)).on_conflict(
            action="DO NOTHING"
        )
        rows = await WebhookCursorRow.select().where(WebhookCursorRow.id == 1)
        return int(rows[0]["last_seq"])

    async def _live_subscriptions(self) -> list[tuple[IntentSubscription, frozenset[str] | None]]:
        """Live subscriptions with a URL, each with its portfolio's members (if scoped so)."""
        now = utcnow()
        rows = await SubscriptionRow.select().where(SubscriptionRow.webhook_url.is_not_null())
        found = []
        for row in rows:
            subscription = IntentSubscription(
                id=row["id"],
                intent_id=row["intent_id"],
                portfolio_id=row["portfolio_id"],
                event_types=load_json(row["event_types"], []),
                webhook_url=row["webhook_url"],
                active=bool(row["active"]),
                expires_at=row["expires_at"],
                created_at=row["created_at"],
            )
            if not subscription.is_live_at(now):
                continue
            members: frozenset[str] | None = None
            if subscription.portfolio_id is not None:
                member_rows = await MembershipRow.select(MembershipRow.intent_id).where(
                    MembershipRow.portfolio_id == subscription.portfolio_id
                )
                members = frozenset(r["intent_id"] for r in member_rows)
            found.append((subscription, members))
        return found

    async def _enqueue(
        self,
        events: list[dict[str, Any]],
        subscriptions: list[tuple[IntentSubscription, frozenset[str] | None]],
    ) -> None:
        now = utcnow()
        for row in events:
            for subscription, members in subscriptions:
                if not _matches(subscription, members, row):
                    continue
                event = event_from_row(row)
                body = WebhookDelivery(subscription_id=subscription.id, event=event)
                await WebhookDeliveryRow.insert(
                    WebhookDeliveryRow(
                        id=new_id(),
                        subscription_id=subscription.id,
                        event_id=row["id"],
                        webhook_url=subscription.webhook_url,
                        body=dump_json(to_wire(body)),
                        status=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                ).on_conflict(action="DO NOTHING")

    # -- step 2: send what is due -------------------------------------------------------

    async def send_due(self) -> int:
        claimed = await self._claim()
        if not claimed:
            return 0
        http = self._client()
        results = await asyncio.gather(*(self._post(http, row) for row in claimed))
        async with self.db.write():
            for row, error in zip(claimed, results, strict=True):
                await self._settle(row, error)
        return len(claimed)

    async def _claim(self) -> list[dict[str, Any]]:
        now = utcnow()
        Row = WebhookDeliveryRow
        due = (
            (Row.status == PENDING)
            & (Row.next_attempt_at <= now)
            & (Row.claimed_until.is_null() | (Row.claimed_until < now))
        )
        if not await Row.exists().where(due):
            return []
        async with self.db.write():
            candidates = (
                await Row.select(Row.id).where(due).order_by(Row.next_attempt_at).limit(self.batch)
            )
            if not candidates:
                return []
            # ``due`` again: under concurrency a row another process just claimed drops out.
            claimed: list[dict[str, Any]] = (
                await Row.update(
                    {
                        Row.claimed_until: now + dt.timedelta(seconds=self.claim_seconds),
                        Row.attempts: Row.attempts + 1,
                    }
                )
                .where(Row.id.is_in([c["id"] for c in candidates]) & due)
                .returning(*Row.all_columns())
            )
            gone = await self._deleted_subscriptions({row["subscription_id"] for row in claimed})
            if gone:
                await Row.update({Row.status: CANCELLED, Row.claimed_until: None}).where(
                    Row.subscription_id.is_in(list(gone)) & (Row.status == PENDING)
                )
        return [row for row in claimed if row["subscription_id"] not in gone]

    async def _deleted_subscriptions(self, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        rows = await SubscriptionRow.select(SubscriptionRow.id).where(
            SubscriptionRow.id.is_in(list(ids))
        )
        return ids - {row["id"] for row in rows}

    def _client(self) -> httpx.AsyncClient:
        """One pooled client, made at the first delivery: importing httpx (with the CLI
        packages litestar installs) costs ~8 MiB, which a server without webhooks keeps."""
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._http

    async def _post(self, http: httpx.AsyncClient, row: dict[str, Any]) -> str | None:
        """POST one delivery; ``None`` on a 2xx answer, else a short error text."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "openintent-server-webhooks",
            "X-OpenIntent-Delivery": row["id"],
            "X-OpenIntent-Subscription": row["subscription_id"],
            "X-OpenIntent-Event": row["event_id"],
            "X-OpenIntent-Attempt": str(row["attempts"]),
        }
        try:
            response = await http.post(row["webhook_url"], content=row["body"], headers=headers)
        except Exception as exc:  # any transport failure (httpx.HTTPError, bad URL, ...)
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def _settle(self, row: dict[str, Any], error: str | None) -> None:
        Row = WebhookDeliveryRow
        now = utcnow()
        values: dict[Any, Any] = {Row.claimed_until: None, Row.last_error: error}
        if error is None:
            values |= {Row.status: DELIVERED, Row.delivered_at: now}
        elif row["attempts"] >= self.max_attempts:
            values[Row.status] = FAILED
        else:
            delay = min(self.backoff * 2 ** (row["attempts"] - 1), self.max_backoff)
            values[Row.next_attempt_at] = now + dt.timedelta(seconds=delay)
        await Row.update(values).where(Row.id == row["id"])


def _matches(
    subscription: IntentSubscription, members: frozenset[str] | None, event: dict[str, Any]
) -> bool:
    if subscription.created_at is not None and event["created_at"] < subscription.created_at:
        return False
    if subscription.intent_id is not None and event["intent_id"] != subscription.intent_id:
        return False
    if members is not None and event["intent_id"] not in members:
        return False
    return subscription.matches(event["event_type"])
