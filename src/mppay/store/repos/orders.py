"""Orders and their prepay attempts. State changes are conditional UPDATEs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, raiseload
from sqlalchemy.orm.interfaces import ORMOption

from mppay.store.driver import Statement, driver
from mppay.store.models import OrderItemRow, OrderRow, PaymentAttemptRow, RefundRow
from mppay.store.rows import OrderFacts, PayableOrder

from ._dialect import plan_each_page, rowcount, supports_row_locks, table

_ORDER_COLUMNS = tuple(column.key for column in table(OrderRow).columns)
_ITEM_COLUMNS = tuple(
    column.key for column in table(OrderItemRow).columns if column.key not in ("id", "order_id")
)
_FACTS = (
    OrderRow.id,
    OrderRow.out_trade_no,
    OrderRow.appid,
    OrderRow.mchid,
    OrderRow.openid,
    OrderRow.status,
    OrderRow.amount_total_fen,
    OrderRow.currency,
    OrderRow.transaction_id,
)
# The hot path's statements, built once and run on the driver (``mppay.store.driver``).
_COUNT_OPEN = Statement(
    select(func.count())
    .select_from(OrderRow)
    .where(
        OrderRow.user_id == bindparam("user_id"),
        OrderRow.created_at >= bindparam("since", type_=OrderRow.created_at.type),
        OrderRow.status == "PENDING",
        OrderRow.expires_at > bindparam("now", type_=OrderRow.expires_at.type),
    )
)
_SET_FIRST_PREPAY = Statement(
    update(table(OrderRow))
    .where(OrderRow.id == bindparam("order_id"), OrderRow.first_prepay_at.is_(None))
    .values(first_prepay_at=bindparam("at", type_=OrderRow.first_prepay_at.type))
)
_STATE_OF = Statement(
    select(OrderRow.status, OrderRow.transaction_id).where(OrderRow.id == bindparam("order_id"))
)
_LATEST_OBTAINED = (
    select(func.max(PaymentAttemptRow.id))
    .where(PaymentAttemptRow.order_id == OrderRow.id, PaymentAttemptRow.status == "OBTAINED")
    .correlate(OrderRow)
    .scalar_subquery()
)
_FACTS_BY_NUMBER = select(*_FACTS).where(OrderRow.out_trade_no == bindparam("number"))
_READ_FACTS = Statement(_FACTS_BY_NUMBER)
_LOCK_FACTS = Statement(_FACTS_BY_NUMBER.with_for_update())
_LATEST = table(PaymentAttemptRow).alias("latest")
_PAYABLE = Statement(
    select(
        OrderRow.id,
        OrderRow.out_trade_no,
        OrderRow.api_version,
        OrderRow.description,
        OrderRow.status,
        OrderRow.amount_total_fen,
        OrderRow.currency,
        OrderRow.openid,
        OrderRow.expires_at,
        _LATEST.c.prepay_id,
        _LATEST.c.expires_at,
    )
    .outerjoin(_LATEST, _LATEST.c.id == _LATEST_OBTAINED)
    .where(OrderRow.id == bindparam("order_id"), OrderRow.user_id == bindparam("user_id"))
)
_INSERT_ORDER = Statement(insert(table(OrderRow)), _ORDER_COLUMNS)
_INSERT_ITEMS = Statement(insert(table(OrderItemRow)), ("order_id", *_ITEM_COLUMNS))
_INSERT_ATTEMPT = Statement(
    insert(table(PaymentAttemptRow)).returning(PaymentAttemptRow.id),
    ("order_id", "api_version", "status", "requested_at"),
)
# Statements whose shape follows the call (the SET columns, the allowed source states),
# each built once per shape.
_UPDATE_ATTEMPT: dict[tuple[str, ...], Statement] = {}
_TRANSITION: dict[tuple[tuple[str, ...], tuple[str, ...]], Statement] = {}
_FLAG_FOR_REVIEW = Statement(
    update(table(OrderRow))
    .where(OrderRow.id == bindparam("order_id"))
    .values(
        needs_review=True,
        review_reason=bindparam("reason", type_=OrderRow.review_reason.type),
        updated_at=bindparam("now", type_=OrderRow.updated_at.type),
    )
)


def _sets(columns: Any, keys: Sequence[str]) -> dict[str, Any]:
    """``.values()`` for ``keys``: a bound parameter of the same name and the column's type."""
    return {key: bindparam(key, type_=columns[key].type) for key in keys}


def _status_in(states: Sequence[str]) -> ColumnElement[bool]:
    # Equalities instead of IN: an IN list is expanded per execution, which the driver's
    # positional parameters cannot take.
    return or_(*(OrderRow.status == state for state in states))


def _update_attempt(keys: tuple[str, ...]) -> Statement:
    found = _UPDATE_ATTEMPT.get(keys)
    if found is None:
        found = _UPDATE_ATTEMPT[keys] = Statement(
            update(table(PaymentAttemptRow))
            .where(PaymentAttemptRow.id == bindparam("attempt_id"))
            .values(_sets(table(PaymentAttemptRow).c, keys))
        )
    return found


def _transition(from_states: tuple[str, ...], keys: tuple[str, ...]) -> Statement:
    found = _TRANSITION.get((from_states, keys))
    if found is None:
        found = _TRANSITION[(from_states, keys)] = Statement(
            update(table(OrderRow))
            .where(OrderRow.id == bindparam("order_id"), _status_in(from_states))
            .values(_sets(table(OrderRow).c, ("status", "updated_at", *keys)))
        )
    return found


@dataclass(frozen=True)
class OrderFilter:
    """Admin search criteria; ``None`` means "any"."""

    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    out_trade_no: str | None = None
    openid: str | None = None
    needs_review: bool | None = None


def _items(with_items: bool) -> tuple[ORMOption, ...]:
    """Paths that never read an order's items (paying, notifications) skip their query."""
    return () if with_items else (raiseload(OrderRow.items),)


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: OrderRow) -> None:
        self._session.add(order)
        await self._session.flush()

    async def insert(self, order: OrderRow) -> None:
        """Write a new order and its items: two Core INSERTs (the items in one executemany).

        ``order`` stays a plain object outside the session (what the caller answers with).
        """
        db = await driver(self._session)
        await db.execute(_INSERT_ORDER, {key: getattr(order, key) for key in _ORDER_COLUMNS})
        if order.items:
            await db.execute_many(
                _INSERT_ITEMS,
                [
                    {"order_id": order.id, **{key: getattr(item, key) for key in _ITEM_COLUMNS}}
                    for item in order.items
                ],
            )

    async def payable_for_user(self, order_id: str, user_id: int) -> PayableOrder | None:
        """The caller's order with its newest OBTAINED prepay id, in one statement."""
        row = await (await driver(self._session)).first(
            _PAYABLE, {"order_id": order_id, "user_id": user_id}
        )
        return None if row is None else PayableOrder(*row)

    async def lock_by_out_trade_no(self, out_trade_no: str) -> OrderFacts | None:
        """Lock the order and read what applying a statement needs, in one statement.

        PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: the writing transaction's
        ``BEGIN IMMEDIATE`` already holds the database's write lock.
        """
        stmt = _LOCK_FACTS if supports_row_locks(self._session) else _READ_FACTS
        row = await (await driver(self._session)).first(stmt, {"number": out_trade_no})
        return None if row is None else OrderFacts(*row)

    async def state_of(self, order_id: str) -> tuple[str, str | None]:
        """(status, transaction_id) as the database has them now (a Core read)."""
        row = await (await driver(self._session)).first(_STATE_OF, {"order_id": order_id})
        assert row is not None
        return row[0], row[1]

    async def lock_for_refund(self, out_refund_no: str) -> OrderRow | None:
        """The order a refund belongs to, locked, found by the refund's number in one statement."""
        refund_order = (
            select(RefundRow.order_id)
            .where(RefundRow.out_refund_no == out_refund_no)
            .scalar_subquery()
        )
        stmt = select(OrderRow).options(*_items(False)).where(OrderRow.id == refund_order)
        if supports_row_locks(self._session):
            stmt = stmt.with_for_update()
        return await self._session.scalar(stmt.execution_options(populate_existing=True))

    async def get(
        self, order_id: str, *, for_update: bool = False, with_items: bool = True
    ) -> OrderRow | None:
        """``with_items=False`` skips the second query for the items (touching them raises)."""
        stmt = select(OrderRow).options(*_items(with_items)).where(OrderRow.id == order_id)
        if for_update and supports_row_locks(self._session):
            stmt = stmt.with_for_update()
        return await self._session.scalar(stmt.execution_options(populate_existing=True))

    async def get_for_user(
        self, order_id: str, user_id: int, *, with_items: bool = True
    ) -> OrderRow | None:
        return await self._session.scalar(
            select(OrderRow)
            .options(*_items(with_items))
            .where(OrderRow.id == order_id, OrderRow.user_id == user_id)
            .execution_options(populate_existing=True)
        )

    async def get_by_out_trade_no(
        self, out_trade_no: str, *, with_items: bool = True
    ) -> OrderRow | None:
        return await self._session.scalar(
            select(OrderRow)
            .options(*_items(with_items))
            .where(OrderRow.out_trade_no == out_trade_no)
            .execution_options(populate_existing=True)
        )

    async def list_for_user(
        self, user_id: int, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[OrderRow]:
        """Newest first; ``before`` is the (created_at, id) of the last row already seen."""
        stmt = select(OrderRow).where(OrderRow.user_id == user_id)
        if before is not None:
            created_at, order_id = before
            stmt = stmt.where(
                or_(
                    OrderRow.created_at < created_at,
                    and_(OrderRow.created_at == created_at, OrderRow.id < order_id),
                )
            )
        rows = await self._session.scalars(
            stmt.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(limit)
        )
        return list(rows)

    async def count_open_for_user(self, user_id: int, *, now: datetime, ttl: timedelta) -> int:
        """PENDING orders of ``user_id`` that can still be paid (not past ``expires_at``).

        Only orders created within ``ttl`` can still be open, which keeps the count on the
        ``(user_id, created_at)`` index however many orders the user has.
        """
        count = await (await driver(self._session)).scalar(
            _COUNT_OPEN, {"user_id": user_id, "since": now - ttl, "now": now}
        )
        return int(count or 0)

    async def search(self, criteria: OrderFilter, *, limit: int, offset: int) -> list[OrderRow]:
        stmt = select(OrderRow)
        if criteria.status is not None:
            stmt = stmt.where(OrderRow.status == criteria.status)
        if criteria.created_from is not None:
            stmt = stmt.where(OrderRow.created_at >= criteria.created_from)
        if criteria.created_to is not None:
            stmt = stmt.where(OrderRow.created_at < criteria.created_to)
        if criteria.out_trade_no is not None:
            stmt = stmt.where(OrderRow.out_trade_no == criteria.out_trade_no)
        if criteria.openid is not None:
            stmt = stmt.where(OrderRow.openid == criteria.openid)
        if criteria.needs_review is not None:
            stmt = stmt.where(OrderRow.needs_review == criteria.needs_review)
        rows = await self._session.scalars(
            stmt.order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def transition(
        self,
        order_id: str,
        /,
        *,
        to: str,
        from_states: Collection[str],
        now: datetime,
        **values: Any,
    ) -> bool:
        """Move the order to ``to`` only if it is in one of ``from_states``; True if it moved.

        The WHERE clause is the concurrency guard: of two racing writers exactly one sees a
        row count of 1.
        """
        stmt = _transition(tuple(from_states), tuple(values))
        changed = await (await driver(self._session)).execute(
            stmt, {"order_id": order_id, "status": to, "updated_at": now, **values}
        )
        return changed > 0

    async def reserve_refund(
        self, order_id: str, amount_fen: int, paid_states: Sequence[str], now: datetime
    ) -> bool:
        """Reserve ``amount_fen`` of the refundable remainder; False if it would exceed it."""
        result = await self._session.execute(
            update(OrderRow)
            .where(
                OrderRow.id == order_id,
                OrderRow.status.in_(list(paid_states)),
                OrderRow.amount_total_fen - OrderRow.refund_reserved_fen >= amount_fen,
            )
            .values(refund_reserved_fen=OrderRow.refund_reserved_fen + amount_fen, updated_at=now)
        )
        return rowcount(result) > 0

    async def release_refund(self, order_id: str, amount_fen: int, now: datetime) -> None:
        await self._session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.refund_reserved_fen >= amount_fen)
            .values(refund_reserved_fen=OrderRow.refund_reserved_fen - amount_fen, updated_at=now)
        )

    async def add_refunded(self, order_id: str, amount_fen: int, now: datetime) -> None:
        await self._session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(refunded_fen=OrderRow.refunded_fen + amount_fen, updated_at=now)
        )

    async def flag_for_review(self, order_id: str, reason: str, now: datetime) -> None:
        await (await driver(self._session)).execute(
            _FLAG_FOR_REVIEW, {"order_id": order_id, "reason": reason, "now": now}
        )

    async def set_first_prepay(self, order_id: str, at: datetime) -> None:
        await (await driver(self._session)).execute(
            _SET_FIRST_PREPAY, {"order_id": order_id, "at": at}
        )

    async def by_out_trade_nos(self, numbers: Sequence[str]) -> dict[str, OrderRow]:
        """Orders by ``out_trade_no`` with only what reconciliation compares (it reads a
        thousand at a time): id, out_trade_no, status, amount, transaction_id. Touching any
        other attribute, or ``items``, of these rows raises instead of querying again."""
        if not numbers:
            return {}
        rows = await self._session.scalars(
            select(OrderRow)
            .where(OrderRow.out_trade_no.in_(list(numbers)))
            .options(
                load_only(
                    OrderRow.id,
                    OrderRow.out_trade_no,
                    OrderRow.status,
                    OrderRow.amount_total_fen,
                    OrderRow.transaction_id,
                    raiseload=True,
                ),
                raiseload(OrderRow.items),
            )
        )
        return {row.out_trade_no: row for row in rows}

    async def paid_between(
        self, start: datetime, end: datetime, *, after_id: str, limit: int
    ) -> list[tuple[str, str, datetime]]:
        """(id, out_trade_no, paid_at) of orders paid in [start, end), in id order after ``after_id``."""
        await plan_each_page(self._session)
        rows = await self._session.execute(
            select(OrderRow.id, OrderRow.out_trade_no, OrderRow.paid_at)
            .where(
                OrderRow.paid_at >= start,
                OrderRow.paid_at < end,
                OrderRow.status.in_(["PAID", "PARTIALLY_REFUNDED", "REFUNDED"]),
                OrderRow.id > after_id,
            )
            .order_by(OrderRow.id)
            .limit(limit)
        )
        return [
            (order_id, number, paid_at) for order_id, number, paid_at in rows if paid_at is not None
        ]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(OrderRow.status, func.count()).group_by(OrderRow.status)
        )
        return {status: count for status, count in rows}


class PaymentAttemptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, attempt: PaymentAttemptRow) -> PaymentAttemptRow:
        self._session.add(attempt)
        await self._session.flush()
        return attempt

    async def start(self, order_id: str, api_version: str, now: datetime) -> int:
        """A REQUESTED attempt (a Core INSERT ... RETURNING); its id."""
        attempt_id = await (await driver(self._session)).scalar(
            _INSERT_ATTEMPT,
            {
                "order_id": order_id,
                "api_version": api_version,
                "status": "REQUESTED",
                "requested_at": now,
            },
        )
        assert attempt_id is not None
        return int(attempt_id)

    async def get(self, attempt_id: int) -> PaymentAttemptRow | None:
        return await self._session.get(PaymentAttemptRow, attempt_id)

    async def update(self, attempt_id: int, /, **values: Any) -> None:
        """Set ``values`` on the attempt (the SET clause follows the keys given)."""
        await (await driver(self._session)).execute(
            _update_attempt(tuple(values)), {"attempt_id": attempt_id, **values}
        )

    async def latest_obtained(self, order_id: str) -> PaymentAttemptRow | None:
        return await self._session.scalar(
            select(PaymentAttemptRow)
            .where(PaymentAttemptRow.order_id == order_id, PaymentAttemptRow.status == "OBTAINED")
            .order_by(PaymentAttemptRow.id.desc())
            .limit(1)
        )

    async def for_order(self, order_id: str) -> list[PaymentAttemptRow]:
        rows = await self._session.scalars(
            select(PaymentAttemptRow)
            .where(PaymentAttemptRow.order_id == order_id)
            .order_by(PaymentAttemptRow.id)
        )
        return list(rows)

    async def any_sent(self, order_id: str) -> bool:
        """True if a prepay request ever left for WeChat (so WeChat may know the order)."""
        found = await self._session.scalar(
            select(PaymentAttemptRow.id).where(PaymentAttemptRow.order_id == order_id).limit(1)
        )
        return found is not None
