"""The retention job trims expired sessions, idempotency keys past their replay window,
rejected-notification records and finished jobs, in bounded batches, and keeps money records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select

from mppay.jobs.handlers import HANDLERS
from mppay.jobs.runtime import enqueue_scheduled_work
from mppay.jobs.worker import Worker
from mppay.runner import Stack
from mppay.store.models import (
    Base,
    IdempotencyKeyRow,
    JobRow,
    NotificationRow,
    OrderEventRow,
    OrderRow,
    RefundIdempotencyKeyRow,
    RefundRow,
    SessionRow,
    UserRow,
)
from mppay.usecases.context import ServiceContext
from mppay.usecases.followups import RETENTION
from mppay.usecases.retention import RetentionPolicy, trim_expired

DAY = timedelta(days=1)
POLICY = RetentionPolicy(
    sessions_after_expiry=7 * DAY,
    idempotency_keys=timedelta(hours=72),
    rejected_notifications=30 * DAY,
    finished_jobs=30 * DAY,
    batch_size=2,
    max_batches=10,
)


def _order(order_id: str, user_id: int, now: datetime, status: str = "PAID") -> OrderRow:
    return OrderRow(
        id=order_id,
        out_trade_no=f"T{order_id}",
        user_id=user_id,
        openid="o-retention",
        appid="wx",
        mchid="19",
        api_version="v3",
        description="latte",
        status=status,
        amount_total_fen=1800,
        currency="CNY",
        refund_reserved_fen=0,
        refunded_fen=0,
        created_at=now - 400 * DAY,
        updated_at=now - 400 * DAY,
        expires_at=now - 400 * DAY,
        paid_at=now - 400 * DAY,
        needs_review=False,
    )


def _notification(at: datetime, verified: bool) -> NotificationRow:
    return NotificationRow(
        received_at=at,
        api_version="v3",
        channel="payment",
        verified=verified,
        outcome="applied" if verified else "rejected",
        headers={},
        body="{}",
    )


def _job(status: str, finished: datetime, run_at: datetime | None = None) -> JobRow:
    return JobRow(
        kind="order.sync",
        payload={},
        status=status,
        run_at=run_at or finished,
        attempts=1,
        max_attempts=20,
        created_at=finished,
        updated_at=finished,
    )


async def _seed(ctx: ServiceContext) -> None:
    """Rows on both sides of every window: 3 past it, 1 just inside it (and kept kinds)."""
    now = ctx.clock.now()
    old, fresh = now - 31 * DAY, now - 29 * DAY
    async with ctx.uow() as uow:
        user = UserRow(openid="o-retention", created_at=now, last_login_at=now)
        uow.session.add(user)
        await uow.session.flush()
        uow.session.add(_order("ORET1", user.id, now))
        await uow.session.flush()
        uow.session.add(
            OrderEventRow(
                order_id="ORET1", at=now - 400 * DAY, type="order.paid", source="t", detail={}
            )
        )
        uow.session.add(
            RefundRow(
                id="RRET1",
                order_id="ORET1",
                out_refund_no="RRET1",
                amount_fen=100,
                status="SUCCESS",
                submit_state="ACCEPTED",
                created_at=now - 400 * DAY,
                updated_at=now - 400 * DAY,
                needs_attention=False,
            )
        )
        await uow.session.flush()
        for n, expired in enumerate([now - 8 * DAY] * 3 + [now - 6 * DAY, now + DAY]):
            uow.session.add(
                SessionRow(
                    user_id=user.id,
                    token_hash=f"{n:064d}",
                    created_at=expired - 7 * DAY,
                    expires_at=expired,
                )
            )
        for n, created in enumerate([now - 4 * DAY] * 3 + [now - 2 * DAY]):
            uow.session.add(
                IdempotencyKeyRow(
                    user_id=user.id,
                    key=f"k{n}",
                    request_hash="h",
                    order_id="ORET1",
                    created_at=created,
                )
            )
            uow.session.add(
                RefundIdempotencyKeyRow(
                    order_id="ORET1",
                    key=f"k{n}",
                    request_hash="h",
                    refund_id="RRET1",
                    created_at=created,
                )
            )
        for at in [old] * 3 + [fresh]:
            uow.session.add(_notification(at, verified=False))
        uow.session.add_all([_notification(now - 400 * DAY, verified=True) for _ in range(2)])
        for status in ["DONE", "DONE", "FAILED"]:
            uow.session.add(_job(status, old))
        # Open jobs stay whatever their age (the queued one is not due: no worker takes it here).
        uow.session.add_all(
            [_job("DONE", fresh), _job("QUEUED", old, run_at=now + DAY), _job("RUNNING", old)]
        )
        await uow.commit()


async def _count(ctx: ServiceContext, table: type[Base], *where: Any) -> int:
    async with ctx.uow(read_only=True) as uow:
        return int(
            await uow.session.scalar(select(func.count()).select_from(table).where(*where)) or 0
        )


@contextmanager
def _deletes(ctx: ServiceContext) -> Iterator[list[int]]:
    """The row count of every DELETE statement run meanwhile."""
    counts: list[int] = []
    engine = ctx.uow.engine.sync_engine  # type: ignore[attr-defined]

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            counts.append(cursor.rowcount)

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(engine, "after_cursor_execute", after)


async def _assert_only_what_is_past_its_window_is_gone(ctx: ServiceContext) -> None:
    assert await _count(ctx, SessionRow) == 2
    assert await _count(ctx, IdempotencyKeyRow) == 1
    assert await _count(ctx, RefundIdempotencyKeyRow) == 1
    assert await _count(ctx, NotificationRow, NotificationRow.verified.is_(False)) == 1
    assert await _count(ctx, NotificationRow, NotificationRow.verified.is_(True)) == 2
    assert await _count(ctx, JobRow, JobRow.kind == "order.sync") == 3
    # Money records are never trimmed, however old.
    assert await _count(ctx, OrderRow) == 1
    assert await _count(ctx, OrderEventRow) == 1
    assert await _count(ctx, RefundRow) == 1


async def test_retention_trims_only_what_is_past_its_window_in_bounded_batches(
    stack: Stack,
) -> None:
    ctx = stack.service.ctx
    await _seed(ctx)
    ctx.retention = POLICY
    with _deletes(ctx) as deleted:
        report = await trim_expired(ctx)
    assert report.deleted == {
        "sessions": 3,
        "idempotency_keys": 3,
        "refund_idempotency_keys": 3,
        "rejected_notifications": 3,
        "finished_jobs": 3,
    }
    assert not report.more_left
    # Never one big DELETE: at most batch_size rows per statement, so 3 rows take 2 statements.
    assert max(deleted) <= POLICY.batch_size
    assert sum(deleted) == 15
    assert len([n for n in deleted if n > 0]) == 10
    await _assert_only_what_is_past_its_window_is_gone(ctx)


async def test_a_run_stops_at_its_batch_cap_and_the_next_run_goes_on(stack: Stack) -> None:
    ctx = stack.service.ctx
    await _seed(ctx)
    ctx.retention = dataclasses.replace(POLICY, max_batches=1)
    first = await trim_expired(ctx)
    assert first.more_left
    assert set(first.deleted.values()) == {2}
    second = await trim_expired(ctx)
    assert set(second.deleted.values()) == {1}
    assert not second.more_left
    await _assert_only_what_is_past_its_window_is_gone(ctx)


async def test_the_worker_runs_one_retention_job_however_many_schedulers_enqueue_it(
    stack: Stack,
) -> None:
    ctx = stack.service.ctx
    await _seed(ctx)
    ctx.retention = POLICY
    for _ in range(3):  # e.g. three worker processes checking the schedule
        await enqueue_scheduled_work(ctx)
    assert await _count(ctx, JobRow, JobRow.kind == RETENTION) == 1
    await Worker(ctx, HANDLERS).run_until_idle()
    await _assert_only_what_is_past_its_window_is_gone(ctx)
    async with ctx.uow(read_only=True) as uow:
        job = await uow.session.scalar(select(JobRow).where(JobRow.kind == RETENTION))
    assert job is not None
    assert job.status == "QUEUED"  # it reschedules itself
    assert job.run_at > ctx.clock.now()
