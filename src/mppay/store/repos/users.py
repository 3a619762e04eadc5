"""Users (by openid) and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mppay.store.models import SessionRow, UserRow

from ._dialect import insert_for, rowcount


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_by_openid(self, openid: str, unionid: str | None, now: datetime) -> UserRow:
        """Insert the user or refresh ``last_login_at``; safe when two logins race."""
        stmt = insert_for(self._session, UserRow).values(
            openid=openid, unionid=unionid, created_at=now, last_login_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[UserRow.openid],
            set_={"last_login_at": now, "unionid": stmt.excluded.unionid},
        )
        await self._session.execute(stmt)
        user = await self._session.scalar(
            select(UserRow)
            .where(UserRow.openid == openid)
            .execution_options(populate_existing=True)
        )
        assert user is not None
        return user

    async def get(self, user_id: int) -> UserRow | None:
        return await self._session.get(UserRow, user_id)

    async def get_by_openid(self, openid: str) -> UserRow | None:
        return await self._session.scalar(select(UserRow).where(UserRow.openid == openid))


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, user_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> SessionRow:
        row = SessionRow(
            user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def find_active(self, token_hash: str, now: datetime) -> tuple[UserRow, datetime] | None:
        """The user of an unrevoked, unexpired session and the session's ``expires_at``."""
        row = (
            await self._session.execute(
                select(UserRow, SessionRow.expires_at)
                .join(SessionRow, SessionRow.user_id == UserRow.id)
                .where(
                    SessionRow.token_hash == token_hash,
                    SessionRow.revoked_at.is_(None),
                    SessionRow.expires_at > now,
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def revoke(self, token_hash: str, now: datetime) -> bool:
        result = await self._session.execute(
            update(SessionRow)
            .where(SessionRow.token_hash == token_hash, SessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return rowcount(result) > 0
