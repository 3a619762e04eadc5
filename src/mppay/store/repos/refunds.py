"""Refunds. Status changes are conditional UPDATEs like orders'."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import RefundRow
from mppay.store.repos._dialect import plan_each_page, rowcount


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, refund: RefundRow) -> None:
        self._session.add(refund)
        await self._session.flush()

    async def get(self, refund_id: str) -> RefundRow | None:
        return await self._session.scalar(
            select(RefundRow)
            .where(RefundRow.id == refund_id)
            .execution_options(populate_existing=True)
        )

    async def get_by_out_refund_no(self, out_refund_no: str) -> RefundRow | None:
        return await self._session.scalar(
            select(RefundRow)
            .where(RefundRow.out_refund_no == out_refund_no)
            .execution_options(populate_existing=True)
        )

    async def for_order(self, order_id: str) -> list[RefundRow]:
        rows = await self._session.scalars(
            select(RefundRow).where(RefundRow.order_id == order_id).order_by(RefundRow.created_at)
        )
        return list(rows)

    async def transition(
        self,
        refund_id: str,
        /,
        *,
        to: str,
        from_states: Collection[str],
        now: datetime,
        **values: Any,
    ) -> bool:
        """Move the refund to ``to`` only from ``from_states``; True if this call moved it."""
        result = await self._session.execute(
            update(RefundRow)
            .where(RefundRow.id == refund_id, RefundRow.status.in_(list(from_states)))
            .values(status=to, updated_at=now, **values)
        )
        return rowcount(result) > 0

    async def update_fields(self, refund_id: str, now: datetime, /, **values: Any) -> None:
        await self._session.execute(
            update(RefundRow).where(RefundRow.id == refund_id).values(updated_at=now, **values)
        )

    async def by_out_refund_nos(self, numbers: Sequence[str]) -> dict[str, RefundRow]:
        if not numbers:
            return {}
        rows = await self._session.scalars(
            select(RefundRow).where(RefundRow.out_refund_no.in_(list(numbers)))
        )
        return {row.out_refund_no: row for row in rows}

    async def succeeded_between(
        self, start: datetime, end: datetime, *, after_id: str, limit: int
    ) -> list[tuple[str, str, datetime]]:
        """(id, out_refund_no, succeeded_at) of refunds that succeeded in [start, end)."""
        await plan_each_page(self._session)
        rows = await self._session.execute(
            select(RefundRow.id, RefundRow.out_refund_no, RefundRow.succeeded_at)
            .where(
                RefundRow.succeeded_at >= start,
                RefundRow.succeeded_at < end,
                RefundRow.status == "SUCCESS",
                RefundRow.id > after_id,
            )
            .order_by(RefundRow.id)
            .limit(limit)
        )
        return [(refund_id, number, at) for refund_id, number, at in rows if at is not None]
