"""Idempotency keys: of order creation, scoped per user; of operator refunds, scoped per order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import IdempotencyKeyRow, RefundIdempotencyKeyRow

from ._dialect import insert_for, rowcount


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int, key: str) -> IdempotencyKeyRow | None:
        return await self._session.scalar(
            select(IdempotencyKeyRow).where(
                IdempotencyKeyRow.user_id == user_id, IdempotencyKeyRow.key == key
            )
        )

    async def claim(
        self, user_id: int, key: str, request_hash: str, order_id: str, now: datetime
    ) -> bool:
        """Record ``key`` for ``order_id``; False when the key was already taken (a race lost)."""
        stmt = (
            insert_for(self._session, IdempotencyKeyRow)
            .values(
                user_id=user_id,
                key=key,
                request_hash=request_hash,
                order_id=order_id,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[IdempotencyKeyRow.user_id, IdempotencyKeyRow.key]
            )
        )
        result = await self._session.execute(stmt)
        return rowcount(result) > 0

    async def get_refund_key(self, order_id: str, key: str) -> RefundIdempotencyKeyRow | None:
        return await self._session.scalar(
            select(RefundIdempotencyKeyRow).where(
                RefundIdempotencyKeyRow.order_id == order_id, RefundIdempotencyKeyRow.key == key
            )
        )

    async def claim_refund_key(
        self, order_id: str, key: str, request_hash: str, refund_id: str, now: datetime
    ) -> bool:
        """Record ``key`` for ``refund_id`` (already flushed); False when the key was taken."""
        stmt = (
            insert_for(self._session, RefundIdempotencyKeyRow)
            .values(
                order_id=order_id,
                key=key,
                request_hash=request_hash,
                refund_id=refund_id,
                created_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[RefundIdempotencyKeyRow.order_id, RefundIdempotencyKeyRow.key]
            )
        )
        result = await self._session.execute(stmt)
        return rowcount(result) > 0
