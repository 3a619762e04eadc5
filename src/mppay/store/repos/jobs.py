"""The outbox: job rows written with the state change, claimed by workers with a lease.

Claiming is one conditional UPDATE ... RETURNING. On PostgreSQL the candidate rows are picked
with ``FOR UPDATE SKIP LOCKED`` so several workers never wait on, or take, the same job; on
SQLite the write transaction (BEGIN IMMEDIATE) already serialises claimers. A lease
(``locked_until``) lets another worker take over a job whose worker died (kill -9).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.driver import Statement, driver
from mppay.store.models import JobRow

from ._dialect import insert_for, rowcount, supports_row_locks, table

QUEUED = "QUEUED"
RUNNING = "RUNNING"
DONE = "DONE"
FAILED = "FAILED"

_ENQUEUE: dict[str, Statement] = {}
_ENQUEUE_COLUMNS = (
    "kind",
    "payload",
    "dedupe_key",
    "status",
    "run_at",
    "attempts",
    "max_attempts",
    "created_at",
    "updated_at",
)


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        run_at: datetime,
        now: datetime,
        dedupe_key: str | None = None,
        max_attempts: int = 20,
    ) -> bool:
        """Add a job; with ``dedupe_key``, an open job with the same key makes this a no-op.

        Returns True when a row was written.
        """
        written = await (await driver(self._session)).execute(
            self._enqueue_statement(),
            {
                "kind": kind,
                "payload": payload,
                "dedupe_key": dedupe_key,
                "status": QUEUED,
                "run_at": run_at,
                "attempts": 0,
                "max_attempts": max_attempts,
                "created_at": now,
                "updated_at": now,
            },
        )
        return written > 0

    def _enqueue_statement(self) -> Statement:
        # Built once per backend. A NULL dedupe_key never conflicts (NULLs are distinct).
        name = self._session.get_bind().dialect.name
        stmt = _ENQUEUE.get(name)
        if stmt is None:
            stmt = Statement(
                insert_for(self._session, table(JobRow)).on_conflict_do_nothing(
                    index_elements=[JobRow.dedupe_key]
                ),
                _ENQUEUE_COLUMNS,
            )
            _ENQUEUE[name] = stmt
        return stmt

    async def claim(
        self,
        worker_id: str,
        now: datetime,
        *,
        lease: timedelta,
        limit: int,
        kinds: list[str] | None = None,
    ) -> list[JobRow]:
        """Take up to ``limit`` due jobs (or jobs whose lease ran out) for ``worker_id``."""
        due = or_(
            and_(JobRow.status == QUEUED, JobRow.run_at <= now),
            and_(JobRow.status == RUNNING, JobRow.locked_until < now),
        )
        candidates = select(JobRow.id).where(due)
        if kinds:
            candidates = candidates.where(JobRow.kind.in_(kinds))
        candidates = candidates.order_by(JobRow.run_at).limit(limit)
        if supports_row_locks(self._session):
            candidates = candidates.with_for_update(skip_locked=True)
        stmt = (
            update(JobRow)
            .where(JobRow.id.in_(candidates.scalar_subquery()), due)
            .values(
                status=RUNNING,
                locked_by=worker_id,
                locked_until=now + lease,
                attempts=JobRow.attempts + 1,
                updated_at=now,
            )
            .returning(JobRow)
            .execution_options(synchronize_session=False)
        )
        rows = await self._session.scalars(stmt)
        return list(rows)

    async def complete(self, job_id: int, worker_id: str, now: datetime) -> bool:
        """Mark done (and free the dedupe key) if ``worker_id`` still holds the lease."""
        result = await self._session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.locked_by == worker_id, JobRow.status == RUNNING)
            .values(status=DONE, dedupe_key=None, locked_by=None, locked_until=None, updated_at=now)
        )
        return rowcount(result) > 0

    async def reschedule(
        self,
        job_id: int,
        worker_id: str,
        now: datetime,
        *,
        run_at: datetime,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """Queue the job again for ``run_at`` as planned work (not a failure: attempts reset)."""
        values: dict[str, Any] = {
            "status": QUEUED,
            "run_at": run_at,
            "attempts": 0,
            "last_error": None,
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
        }
        if payload is not None:
            values["payload"] = payload
        result = await self._session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.locked_by == worker_id, JobRow.status == RUNNING)
            .values(**values)
        )
        return rowcount(result) > 0

    async def extend_lease(self, job_ids: list[int], worker_id: str, until: datetime) -> None:
        """Heartbeat: keep the jobs this worker is still running."""
        await self._session.execute(
            update(JobRow)
            .where(JobRow.id.in_(job_ids), JobRow.locked_by == worker_id, JobRow.status == RUNNING)
            .values(locked_until=until)
        )

    async def retry_later(
        self, job_id: int, worker_id: str, now: datetime, *, run_at: datetime, error: str
    ) -> str:
        """Put the job back for ``run_at``, or mark it FAILED after ``max_attempts``.

        Returns the new status ("QUEUED" / "FAILED"), or "" when the lease was lost.
        """
        job = await self._session.get(JobRow, job_id, populate_existing=True)
        if job is None or job.locked_by != worker_id or job.status != RUNNING:
            return ""
        final = job.attempts >= job.max_attempts
        job.status = FAILED if final else QUEUED
        job.run_at = run_at
        job.last_error = error[:2000]
        job.locked_by = None
        job.locked_until = None
        job.updated_at = now
        if final:
            job.dedupe_key = None
        return job.status

    async def release(self, job_id: int, worker_id: str, now: datetime) -> None:
        """Give a claimed job back untouched (graceful shutdown): it does not count as an attempt."""
        await self._session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.locked_by == worker_id, JobRow.status == RUNNING)
            .values(
                status=QUEUED,
                run_at=now,
                attempts=JobRow.attempts - 1,
                locked_by=None,
                locked_until=None,
                updated_at=now,
            )
        )

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(JobRow.status, func.count()).group_by(JobRow.status)
        )
        return {status: count for status, count in rows}

    async def by_status(self, status: str, *, limit: int = 100) -> list[JobRow]:
        rows = await self._session.scalars(
            select(JobRow).where(JobRow.status == status).order_by(JobRow.id).limit(limit)
        )
        return list(rows)

    async def open_for(self, dedupe_key: str) -> JobRow | None:
        return await self._session.scalar(select(JobRow).where(JobRow.dedupe_key == dedupe_key))
