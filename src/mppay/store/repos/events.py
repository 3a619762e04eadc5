"""The append-only order timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.driver import Statement, driver
from mppay.store.models import OrderEventRow

from ._dialect import table

_INSERT = Statement(insert(table(OrderEventRow)), ("order_id", "at", "type", "source", "detail"))


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(
        self,
        order_id: str,
        type_: str,
        *,
        at: datetime,
        source: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Written at once, in the caller's transaction (a Core INSERT, no ORM object)."""
        await (await driver(self._session)).execute(
            _INSERT,
            {
                "order_id": order_id,
                "at": at,
                "type": type_,
                "source": source,
                "detail": detail or {},
            },
        )

    async def for_order(self, order_id: str) -> list[OrderEventRow]:
        rows = await self._session.scalars(
            select(OrderEventRow)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.id)
        )
        return list(rows)

    async def after(self, after_id: int, limit: int) -> list[OrderEventRow]:
        """Events of every order with an id above ``after_id``, oldest first (the live feed)."""
        rows = await self._session.scalars(
            select(OrderEventRow)
            .where(OrderEventRow.id > after_id)
            .order_by(OrderEventRow.id)
            .limit(limit)
        )
        return list(rows)

    async def last_id(self) -> int:
        """The newest event's id (0 when there is none): where a feed starts from now."""
        newest = await self._session.scalar(select(func.max(OrderEventRow.id)))
        return int(newest or 0)
