"""Bounded deletes of rows past their retention window (``mppay.usecases.retention``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import (
    IdempotencyKeyRow,
    JobRow,
    NotificationRow,
    RefundIdempotencyKeyRow,
    SessionRow,
)

from ._dialect import rowcount

__all__ = ["TRIMMABLE", "RetentionRepository", "Trimmable"]

Trimmable = Literal[
    "sessions",
    "idempotency_keys",
    "refund_idempotency_keys",
    "rejected_notifications",
    "finished_jobs",
]
TRIMMABLE: tuple[Trimmable, ...] = (
    "sessions",
    "idempotency_keys",
    "refund_idempotency_keys",
    "rejected_notifications",
    "finished_jobs",
)


def _target(kind: Trimmable, cutoff: datetime) -> tuple[Any, ColumnElement[bool]]:
    """The table and the condition of what ``kind`` trims; each has an index to walk."""
    if kind == "sessions":
        return SessionRow, SessionRow.expires_at < cutoff
    if kind == "idempotency_keys":
        return IdempotencyKeyRow, IdempotencyKeyRow.created_at < cutoff
    if kind == "refund_idempotency_keys":
        return RefundIdempotencyKeyRow, RefundIdempotencyKeyRow.created_at < cutoff
    if kind == "rejected_notifications":
        # Verified notifications are money records: kept whatever their age.
        return NotificationRow, (NotificationRow.verified.is_(False)) & (
            NotificationRow.received_at < cutoff
        )
    # Open jobs (QUEUED, RUNNING) are work still to do: kept whatever their age.
    return JobRow, JobRow.status.in_(("DONE", "FAILED")) & (JobRow.updated_at < cutoff)


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def delete_batch(self, kind: Trimmable, cutoff: datetime, limit: int) -> int:
        """Delete at most ``limit`` rows of ``kind`` older than ``cutoff``; return how many."""
        table, condition = _target(kind, cutoff)
        # DELETE has no LIMIT on PostgreSQL: pick the ids first, in the same statement.
        batch = select(table.id).where(condition).limit(limit).scalar_subquery()
        result = await self._session.execute(
            delete(table).where(table.id.in_(batch)).execution_options(synchronize_session=False)
        )
        return rowcount(result)
