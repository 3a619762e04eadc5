"""The operations console's queries: search, counts for the overview, lists to work through.

Read-only except three guarded writes an operator triggers: retrying a job and clearing an
order's ``needs_review`` flag, each a conditional UPDATE that tells whether it changed anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from mppay.store.models import (
    JobRow,
    NotificationRow,
    OrderRow,
    ReconciliationRunRow,
    RefundRow,
)

from ._dialect import rowcount

PAID_STATES = ("PAID", "PARTIALLY_REFUNDED", "REFUNDED")


@dataclass(frozen=True)
class OrderQuery:
    """The console's order search; ``None`` means "any".

    ``text`` matches an order exactly by id, out_trade_no, transaction_id or openid.
    """

    text: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    amount_min_fen: int | None = None
    amount_max_fen: int | None = None
    needs_review: bool | None = None


def _where(query: OrderQuery) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if query.text:
        clauses.append(
            or_(
                OrderRow.id == query.text,
                OrderRow.out_trade_no == query.text,
                OrderRow.transaction_id == query.text,
                OrderRow.openid == query.text,
            )
        )
    if query.status is not None:
        clauses.append(OrderRow.status == query.status)
    if query.created_from is not None:
        clauses.append(OrderRow.created_at >= query.created_from)
    if query.created_to is not None:
        clauses.append(OrderRow.created_at < query.created_to)
    if query.amount_min_fen is not None:
        clauses.append(OrderRow.amount_total_fen >= query.amount_min_fen)
    if query.amount_max_fen is not None:
        clauses.append(OrderRow.amount_total_fen <= query.amount_max_fen)
    if query.needs_review is not None:
        clauses.append(OrderRow.needs_review == query.needs_review)
    return clauses


def _failing() -> ColumnElement[bool]:
    """Jobs that failed at least once and will be tried again, or gave up."""
    return or_(
        and_(JobRow.status == "QUEUED", JobRow.last_error.is_not(None)), JobRow.status == "FAILED"
    )


class ConsoleQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- orders ---

    async def orders(self, query: OrderQuery, *, limit: int, offset: int) -> list[OrderRow]:
        rows = await self._session.scalars(
            select(OrderRow)
            .where(*_where(query))
            .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def orders_before(
        self, query: OrderQuery, before: tuple[datetime, str] | None, *, limit: int
    ) -> list[OrderRow]:
        """A keyset page, newest first: the export walks the whole result this way."""
        stmt = select(OrderRow).where(*_where(query))
        if before is not None:
            created_at, order_id = before
            stmt = stmt.where(
                or_(
                    OrderRow.created_at < created_at,
                    and_(OrderRow.created_at == created_at, OrderRow.id < order_id),
                )
            )
        rows = await self._session.scalars(
            stmt.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        )
        return list(rows)

    async def resolve_review(self, order_id: str, now: datetime) -> bool:
        """Clear the flag; False when the order was not flagged (someone resolved it first)."""
        result = await self._session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.needs_review.is_(True))
            .values(needs_review=False, updated_at=now)
        )
        return rowcount(result) > 0

    # --- the overview ---

    async def paid_totals(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(count, fen) of orders paid in [start, end) (refunded ones included: they were paid)."""
        count, total = (
            await self._session.execute(
                select(func.count(), func.coalesce(func.sum(OrderRow.amount_total_fen), 0)).where(
                    OrderRow.paid_at >= start,
                    OrderRow.paid_at < end,
                    OrderRow.status.in_(PAID_STATES),
                )
            )
        ).one()
        return int(count), int(total)

    async def refund_totals(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(count, fen) of refunds requested in [start, end) and not refused by WeChat."""
        count, total = (
            await self._session.execute(
                select(func.count(), func.coalesce(func.sum(RefundRow.amount_fen), 0)).where(
                    RefundRow.created_at >= start,
                    RefundRow.created_at < end,
                    RefundRow.submit_state != "REJECTED",
                )
            )
        ).one()
        return int(count), int(total)

    async def count_needing_review(self) -> int:
        return int(
            await self._session.scalar(
                select(func.count()).select_from(OrderRow).where(OrderRow.needs_review.is_(True))
            )
            or 0
        )

    async def count_rejected_notifications(self, since: datetime) -> int:
        return int(
            await self._session.scalar(
                select(func.count())
                .select_from(NotificationRow)
                .where(NotificationRow.verified.is_(False), NotificationRow.received_at >= since)
            )
            or 0
        )

    async def count_failing_jobs(self) -> int:
        return int(
            await self._session.scalar(select(func.count()).select_from(JobRow).where(_failing()))
            or 0
        )

    async def last_reconciliation(self) -> ReconciliationRunRow | None:
        return await self._session.scalar(
            select(ReconciliationRunRow).order_by(ReconciliationRunRow.bill_date.desc()).limit(1)
        )

    async def paid_by_bucket(self, start: datetime, seconds: int, buckets: int) -> dict[int, int]:
        """Paid fen per ``seconds``-wide bucket from ``start`` (bucket 0), summed by the database.

        The bucket is computed from epoch seconds, so the caller's ``start`` sets the grid
        (e.g. Beijing midnight): time zones with no daylight saving need nothing more.
        """
        end = start.timestamp() + seconds * buckets
        if self._session.get_bind().dialect.name == "postgresql":
            epoch: ColumnElement[Any] = func.extract("epoch", OrderRow.paid_at)
            index: ColumnElement[Any] = cast(
                func.floor((epoch - int(start.timestamp())) / seconds), Integer
            )
        else:
            # SQLite stores the naive UTC text; strftime('%s') reads it as UTC. `//`: SQLAlchemy
            # 2 compiles `/` as true division (`/ (3600 + 0.0)`), which would group by the
            # fractional value, one group per second, each overwriting the last in the dict.
            epoch = cast(func.strftime("%s", OrderRow.paid_at), Integer)
            index = (epoch - int(start.timestamp())) // seconds
        rows = await self._session.execute(
            select(index.label("bucket"), func.sum(OrderRow.amount_total_fen))
            .where(
                OrderRow.paid_at >= start,
                OrderRow.paid_at < datetime.fromtimestamp(end, start.tzinfo),
                OrderRow.status.in_(PAID_STATES),
            )
            .group_by("bucket")
        )
        return {int(bucket): int(total) for bucket, total in rows if 0 <= int(bucket) < buckets}

    # --- lists ---

    async def refunds(self, *, status: str | None, limit: int, offset: int) -> list[RefundRow]:
        stmt = select(RefundRow)
        if status is not None:
            stmt = stmt.where(RefundRow.status == status)
        rows = await self._session.scalars(
            stmt.order_by(RefundRow.created_at.desc(), RefundRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def notifications(
        self, *, kind: str | None, limit: int, offset: int
    ) -> list[NotificationRow]:
        """``kind``: ``verified`` (applied or not yet seen), ``rejected``, ``duplicate``."""
        stmt = select(NotificationRow)
        duplicate = NotificationRow.outcome.like("duplicate%")
        if kind == "verified":
            stmt = stmt.where(NotificationRow.verified.is_(True), ~duplicate)
        elif kind == "rejected":
            stmt = stmt.where(NotificationRow.verified.is_(False))
        elif kind == "duplicate":
            stmt = stmt.where(duplicate)
        rows = await self._session.scalars(
            stmt.order_by(NotificationRow.id.desc()).limit(limit).offset(offset)
        )
        return list(rows)

    async def jobs(self, *, failing_only: bool, limit: int) -> list[JobRow]:
        stmt = select(JobRow)
        stmt = (
            stmt.where(_failing())
            if failing_only
            else stmt.where(JobRow.status.in_(["QUEUED", "RUNNING"]))
        )
        rows = await self._session.scalars(stmt.order_by(JobRow.run_at).limit(limit))
        return list(rows)

    async def count_jobs_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(JobRow.status, func.count()).group_by(JobRow.status)
        )
        return {status: int(count) for status, count in rows}

    async def retry_job(self, job_id: int, now: datetime) -> bool:
        """Run a failing or failed job now with a fresh attempt budget.

        A FAILED job lost its dedupe key; it stays without one (an open job for the same
        subject may exist by now, and the handlers are idempotent).
        """
        result = await self._session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, _failing())
            .values(status="QUEUED", run_at=now, attempts=0, updated_at=now)
        )
        return rowcount(result) > 0
