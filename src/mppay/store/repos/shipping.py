"""Shipping information: shipments, upload requests and verified message pushes.

Not attached to ``UnitOfWork`` on purpose (several people change it at once): use cases build
``ShippingRepository(uow.session)``, which works inside the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import MessagePushRow, OrderRow, ShipmentRequestRow, ShipmentRow

from ._dialect import core, insert_for, rowcount, table

__all__ = ["ShippingRepository"]


class ShippingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- shipments ------------------------------------------------------------------------

    async def create(self, order_id: str, *, state: str, kind: str, now: datetime) -> bool:
        """Insert the order's shipment unless it exists; True when this call wrote it."""
        stmt = (
            insert_for(self._session, table(ShipmentRow))
            .values(
                order_id=order_id,
                state=state,
                kind=kind,
                packages={"packages": []},
                requested=0,
                uploads=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[ShipmentRow.order_id])
        )
        return rowcount(await (await core(self._session)).execute(stmt)) > 0

    async def get(self, order_id: str) -> ShipmentRow | None:
        result = await self._session.execute(
            select(ShipmentRow).where(ShipmentRow.order_id == order_id)
        )
        return result.scalar_one_or_none()

    async def claim_upload(self, order_id: str, *, expected: int, now: datetime) -> bool:
        """Count one more completing upload, if nobody else did since we read ``expected``."""
        stmt = (
            update(ShipmentRow)
            .where(ShipmentRow.order_id == order_id, ShipmentRow.requested == expected)
            .values(requested=expected + 1, updated_at=now)
        )
        return rowcount(await self._session.execute(stmt)) > 0

    async def update(self, order_id: str, /, **values: Any) -> None:
        await self._session.execute(
            update(ShipmentRow).where(ShipmentRow.order_id == order_id).values(**values)
        )

    async def move(self, order_id: str, *, to: str, from_states: list[str], **values: Any) -> bool:
        """Conditional state change; True when it happened."""
        stmt = (
            update(ShipmentRow)
            .where(ShipmentRow.order_id == order_id, ShipmentRow.state.in_(from_states))
            .values(state=to, **values)
        )
        return rowcount(await self._session.execute(stmt)) > 0

    async def waiting_since(
        self, before: datetime, *, limit: int = 100
    ) -> list[tuple[ShipmentRow, str, str]]:
        """PENDING_UPLOAD shipments created before ``before`` and not yet alerted, with the
        order's out_trade_no and transaction_id."""
        rows = await self._session.execute(
            select(ShipmentRow, OrderRow.out_trade_no, OrderRow.transaction_id)
            .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
            .where(
                ShipmentRow.state == "PENDING_UPLOAD",
                ShipmentRow.created_at < before,
                ShipmentRow.alerted_at.is_(None),
            )
            .order_by(ShipmentRow.created_at)
            .limit(limit)
        )
        return [(row[0], row[1], row[2] or "") for row in rows.all()]

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(ShipmentRow.state, func.count()).group_by(ShipmentRow.state)
        )
        return {state: int(count) for state, count in rows.all()}

    # -- requests -------------------------------------------------------------------------

    async def request_by_key(self, order_id: str, key: str) -> ShipmentRequestRow | None:
        result = await self._session.execute(
            select(ShipmentRequestRow).where(
                ShipmentRequestRow.order_id == order_id, ShipmentRequestRow.idempotency_key == key
            )
        )
        return result.scalar_one_or_none()

    async def add_request(self, row: ShipmentRequestRow) -> ShipmentRequestRow:
        self._session.add(row)
        await self._session.flush()
        return row

    async def get_request(self, request_id: int) -> ShipmentRequestRow | None:
        return await self._session.get(ShipmentRequestRow, request_id)

    async def requests_of(self, order_id: str) -> list[ShipmentRequestRow]:
        result = await self._session.execute(
            select(ShipmentRequestRow)
            .where(ShipmentRequestRow.order_id == order_id)
            .order_by(ShipmentRequestRow.id)
        )
        return list(result.scalars())

    async def finish_request(
        self, request_id: int, *, from_status: str, status: str, now: datetime, **values: Any
    ) -> bool:
        stmt = (
            update(ShipmentRequestRow)
            .where(ShipmentRequestRow.id == request_id, ShipmentRequestRow.status == from_status)
            .values(status=status, finished_at=now, **values)
        )
        return rowcount(await self._session.execute(stmt)) > 0

    async def count_attempt(self, request_id: int) -> None:
        await self._session.execute(
            update(ShipmentRequestRow)
            .where(ShipmentRequestRow.id == request_id)
            .values(attempts=ShipmentRequestRow.attempts + 1)
        )

    # -- message pushes -------------------------------------------------------------------

    async def record_push(
        self,
        *,
        dedupe_key: str,
        event: str,
        transaction_id: str | None,
        order_id: str | None,
        outcome: str,
        body: str,
        now: datetime,
    ) -> bool:
        """Store a verified push once; False when the same push was stored before."""
        stmt = (
            insert_for(self._session, table(MessagePushRow))
            .values(
                dedupe_key=dedupe_key,
                event=event,
                transaction_id=transaction_id,
                order_id=order_id,
                outcome=outcome,
                body=body,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=[MessagePushRow.dedupe_key])
        )
        return rowcount(await (await core(self._session)).execute(stmt)) > 0

    async def count_pushes(self, event: str, outcome: str) -> int:
        result = await self._session.execute(
            select(func.count())
            .select_from(MessagePushRow)
            .where(MessagePushRow.event == event, MessagePushRow.outcome == outcome)
        )
        return int(result.scalar_one())

    async def order_by_transaction(self, transaction_id: str) -> OrderRow | None:
        result = await self._session.execute(
            select(OrderRow).where(OrderRow.transaction_id == transaction_id)
        )
        return result.scalar_one_or_none()

    async def order_by_out_trade_no(self, out_trade_no: str) -> OrderRow | None:
        result = await self._session.execute(
            select(OrderRow).where(OrderRow.out_trade_no == out_trade_no)
        )
        return result.scalar_one_or_none()
