"""The audit log of received notifications."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.driver import Statement, driver
from mppay.store.models import NotificationRow

from ._dialect import table

_COLUMNS = tuple(column.key for column in table(NotificationRow).columns if column.key != "id")
_INSERT = Statement(insert(table(NotificationRow)), _COLUMNS)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: NotificationRow) -> NotificationRow:
        self._session.add(row)
        await self._session.flush()
        return row

    async def record(self, row: NotificationRow) -> None:
        """Write ``row`` (a plain object, not added to the session) with one Core INSERT."""
        await (await driver(self._session)).execute(
            _INSERT, {key: getattr(row, key) for key in _COLUMNS}
        )

    async def for_order(self, order_id: str, out_trade_no: str) -> list[NotificationRow]:
        """Notifications tied to the order, including rejected ones that only named it."""
        rows = await self._session.scalars(
            select(NotificationRow)
            .where(
                (NotificationRow.order_id == order_id)
                | (NotificationRow.out_trade_no == out_trade_no)
            )
            .order_by(NotificationRow.id)
        )
        return list(rows)

    async def count_by_outcome(self) -> Counter[str]:
        rows = await self._session.execute(
            select(NotificationRow.outcome, func.count()).group_by(NotificationRow.outcome)
        )
        return Counter({outcome: count for outcome, count in rows})

    async def get(self, row_id: int) -> NotificationRow | None:
        return await self._session.get(NotificationRow, row_id)

    async def latest_verified(self, notification_id: str) -> NotificationRow | None:
        """The newest verified row of WeChat's notification ``id`` (a resend's source)."""
        rows = await self._session.scalars(
            select(NotificationRow)
            .where(
                NotificationRow.notification_id == notification_id,
                NotificationRow.verified.is_(True),
            )
            .order_by(NotificationRow.id.desc())
            .limit(1)
        )
        return rows.first()
