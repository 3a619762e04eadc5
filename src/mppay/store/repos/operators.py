"""Console operators, their sign-in sessions and the audit log of what they did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import OperatorAuditRow, OperatorRow, OperatorSessionRow

from ._dialect import rowcount


class OperatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, operator: OperatorRow) -> OperatorRow:
        self._session.add(operator)
        await self._session.flush()
        return operator

    async def get(self, operator_id: int) -> OperatorRow | None:
        return await self._session.get(OperatorRow, operator_id, populate_existing=True)

    async def by_username(self, username: str) -> OperatorRow | None:
        return await self._session.scalar(
            select(OperatorRow)
            .where(OperatorRow.username == username)
            .execution_options(populate_existing=True)
        )

    async def all(self) -> list[OperatorRow]:
        return list(await self._session.scalars(select(OperatorRow).order_by(OperatorRow.id)))

    async def update(self, operator_id: int, /, **values: Any) -> bool:
        result = await self._session.execute(
            update(OperatorRow).where(OperatorRow.id == operator_id).values(**values)
        )
        return rowcount(result) > 0

    # --- sessions ---

    async def add_session(self, row: OperatorSessionRow) -> OperatorSessionRow:
        self._session.add(row)
        await self._session.flush()
        return row

    async def session_by_token_hash(
        self, token_hash: str
    ) -> tuple[OperatorSessionRow, OperatorRow] | None:
        found = (
            await self._session.execute(
                select(OperatorSessionRow, OperatorRow)
                .join(OperatorRow, OperatorRow.id == OperatorSessionRow.operator_id)
                .where(OperatorSessionRow.token_hash == token_hash)
            )
        ).first()
        return None if found is None else (found[0], found[1])

    async def touch_session(self, session_id: int, now: datetime) -> None:
        await self._session.execute(
            update(OperatorSessionRow)
            .where(OperatorSessionRow.id == session_id)
            .values(last_seen_at=now)
        )

    async def revoke_session(self, session_id: int, now: datetime) -> None:
        await self._session.execute(
            update(OperatorSessionRow)
            .where(OperatorSessionRow.id == session_id, OperatorSessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_sessions_of(self, operator_id: int, now: datetime) -> int:
        """End every open session of an operator (disabled, or a new password)."""
        result = await self._session.execute(
            update(OperatorSessionRow)
            .where(
                OperatorSessionRow.operator_id == operator_id,
                OperatorSessionRow.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return rowcount(result)

    # --- audit ---

    async def audit(self, row: OperatorAuditRow) -> None:
        self._session.add(row)
        await self._session.flush()

    async def audit_log(
        self, *, limit: int, offset: int = 0, target: str | None = None
    ) -> list[OperatorAuditRow]:
        stmt = select(OperatorAuditRow)
        if target is not None:
            stmt = stmt.where(OperatorAuditRow.target == target)
        rows = await self._session.scalars(
            stmt.order_by(OperatorAuditRow.id.desc()).limit(limit).offset(offset)
        )
        return list(rows)
