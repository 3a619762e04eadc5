"""Reconciliation runs and their discrepancies. A run per bill date; a re-run replaces it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import DiscrepancyRow, ReconciliationRunRow
from mppay.store.repos._dialect import insert_for


class ReconciliationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def start(self, bill_date: date, api_version: str, now: datetime) -> ReconciliationRunRow:
        """Create the run of ``bill_date`` or mark the existing one RUNNING again."""
        stmt = insert_for(self._session, ReconciliationRunRow).values(
            bill_date=bill_date,
            api_version=api_version,
            status="RUNNING",
            started_at=now,
            bill_rows=0,
            summary={},
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[ReconciliationRunRow.bill_date],
            set_={
                "status": "RUNNING",
                "started_at": now,
                "finished_at": None,
                "error": None,
                "api_version": api_version,
            },
        )
        await self._session.execute(stmt)
        run = await self.get(bill_date)
        assert run is not None
        return run

    async def get(self, bill_date: date) -> ReconciliationRunRow | None:
        return await self._session.scalar(
            select(ReconciliationRunRow)
            .where(ReconciliationRunRow.bill_date == bill_date)
            .execution_options(populate_existing=True)
        )

    async def finish(
        self,
        run_id: int,
        *,
        status: str,
        now: datetime,
        bill_rows: int,
        summary: dict[str, Any],
        discrepancies: list[DiscrepancyRow],
        error: str | None = None,
    ) -> None:
        """Replace the run's results in one go (the previous run's discrepancies go away)."""
        await self._session.execute(delete(DiscrepancyRow).where(DiscrepancyRow.run_id == run_id))
        run = await self._session.get(ReconciliationRunRow, run_id, populate_existing=True)
        assert run is not None
        run.status = status
        run.finished_at = now
        run.bill_rows = bill_rows
        run.summary = summary
        run.error = error
        for row in discrepancies:
            row.run_id = run_id
            self._session.add(row)
        await self._session.flush()

    async def fail(self, run_id: int, *, now: datetime, error: str) -> None:
        run = await self._session.get(ReconciliationRunRow, run_id, populate_existing=True)
        if run is not None:
            run.status = "FAILED"
            run.finished_at = now
            run.error = error[:2000]

    async def recent(self, *, limit: int) -> list[ReconciliationRunRow]:
        rows = await self._session.scalars(
            select(ReconciliationRunRow)
            .order_by(ReconciliationRunRow.bill_date.desc())
            .limit(limit)
        )
        return list(rows)

    async def discrepancies(self, run_id: int) -> list[DiscrepancyRow]:
        rows = await self._session.scalars(
            select(DiscrepancyRow)
            .where(DiscrepancyRow.run_id == run_id)
            .order_by(DiscrepancyRow.id)
        )
        return list(rows)

    async def held(self, bill_date: date, kind: str) -> set[str]:
        """Keys held by the run of ``bill_date`` for the next day's bill."""
        rows = await self._session.scalars(
            select(
                DiscrepancyRow.out_refund_no
                if kind.startswith("REFUND")
                else DiscrepancyRow.out_trade_no
            )
            .join(ReconciliationRunRow, ReconciliationRunRow.id == DiscrepancyRow.run_id)
            .where(
                ReconciliationRunRow.bill_date == bill_date,
                DiscrepancyRow.resolution == "HELD",
                DiscrepancyRow.kind == kind,
            )
        )
        return {key for key in rows if key}
