"""Unit of work: one transaction per use case. Leaving without ``commit()`` rolls back."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .db import READ_ONLY_OPTION
from .driver import forget
from .repos import (
    ConsoleQueries,
    EventRepository,
    IdempotencyRepository,
    JobRepository,
    NotificationRepository,
    OperatorRepository,
    OrderRepository,
    PaymentAttemptRepository,
    ReconciliationRepository,
    RefundRepository,
    RetentionRepository,
    SessionRepository,
    UserRepository,
)

__all__ = ["UnitOfWork", "UnitOfWorkFactory"]


class UnitOfWork:
    """Repositories over one session; ``async with`` opens it, ``commit()`` makes it stick."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.sessions = SessionRepository(session)
        self.orders = OrderRepository(session)
        self.attempts = PaymentAttemptRepository(session)
        self.refunds = RefundRepository(session)
        self.notifications = NotificationRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.events = EventRepository(session)
        self.jobs = JobRepository(session)
        self.reconciliations = ReconciliationRepository(session)
        self.retention = RetentionRepository(session)
        self.operators = OperatorRepository(session)
        self.console = ConsoleQueries(session)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed (the connection goes back to the pool
        # with a rollback) and detaches the loaded rows without expiring them, so use cases
        # can return what they read.
        forget(self.session)
        await self.session.close()

    async def commit(self) -> None:
        forget(self.session)
        await self.session.commit()

    async def rollback(self) -> None:
        forget(self.session)
        await self.session.rollback()


class UnitOfWorkFactory:
    """Makes units of work; ``read_only=True`` skips SQLite's write lock for pure reads."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
        self._read_sessions = async_sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}),
            expire_on_commit=False,
            autoflush=True,
        )

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        maker = self._read_sessions if read_only else self._sessions
        return UnitOfWork(maker())
