from datetime import UTC, date, datetime, timedelta

from mppay.domain.catalog import RequestedLine
from mppay.domain.identifiers import BEIJING
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.domain.wechat_facts import BillEntry
from mppay.jobs.handlers import HANDLERS
from mppay.jobs.worker import Worker
from mppay.store.models import OrderRow
from mppay.usecases import notifications, orders, payments, refunds
from mppay.usecases.context import ServiceContext
from mppay.usecases.reconciliation import reconcile
from tests.support.fakes import FakeGateway, MutableClock
from tests.unit.service.conftest import make_user

SIGNED = {"x-fake-signature": "ok"}


def worker(ctx: ServiceContext, name: str = "w1") -> Worker:
    return Worker(ctx, HANDLERS, worker_id=name)


async def reload(ctx: ServiceContext, order_id: str) -> OrderRow:
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
    assert order is not None
    return order


async def prepaid_order(ctx: ServiceContext) -> OrderRow:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    return order


async def test_order_sync_recovers_a_payment_whose_notification_was_lost(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    order = await prepaid_order(ctx)
    gateway.pay(order.out_trade_no)
    assert await worker(ctx).run_until_idle() == 0  # nothing due before 30 s
    clock.advance(31)
    await worker(ctx).run_until_idle()
    assert (await reload(ctx, order.id)).status == OrderStatus.PAID


async def test_order_sync_keeps_asking_on_its_schedule_while_unpaid(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    order = await prepaid_order(ctx)
    for seconds in (31, 61, 121):
        clock.advance(seconds)
        await worker(ctx).run_until_idle()
    assert gateway.calls.count("query") == 3
    async with ctx.uow(read_only=True) as uow:
        job = await uow.jobs.open_for(f"order.sync:{order.id}")
    assert job is not None
    assert job.payload["step"] == 3
    assert job.attempts == 0


async def test_expiry_closes_an_unpaid_order_at_wechat_and_locally(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    order = await prepaid_order(ctx)
    clock.advance(31 * 60)
    await worker(ctx).run_until_idle()
    assert (await reload(ctx, order.id)).status == OrderStatus.CLOSED
    assert gateway.trades[order.out_trade_no].state == "CLOSED"


async def test_expiry_of_an_order_paid_in_the_last_second_records_it_paid(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    order = await prepaid_order(ctx)
    clock.advance(30 * 60 - 1)
    gateway.pay(order.out_trade_no)
    clock.advance(60)
    await worker(ctx).run_until_idle()
    assert (await reload(ctx, order.id)).status == OrderStatus.PAID


async def test_refund_sync_settles_a_refund_whose_notification_never_came(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    order = await prepaid_order(ctx)
    await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(gateway.pay(order.out_trade_no))
    )
    refund = await refunds.create_refund(ctx, order.id, 1800, None)
    gateway.trades[order.out_trade_no].refund_status[refund.out_refund_no] = RefundStatus.SUCCESS
    clock.advance(61)
    await worker(ctx).run_until_idle()
    after = await reload(ctx, order.id)
    assert after.status == OrderStatus.REFUNDED
    assert after.refunded_fen == 1800


async def test_a_claimed_job_is_not_claimed_again_by_another_worker_until_its_lease_ends(
    ctx: ServiceContext, clock: MutableClock
) -> None:
    await prepaid_order(ctx)
    clock.advance(31)
    async with ctx.uow() as uow:
        first = await uow.jobs.claim(
            "w1", clock.now(), lease=timedelta(seconds=60), limit=10, kinds=["order.sync"]
        )
        await uow.commit()
    async with ctx.uow() as uow:
        second = await uow.jobs.claim(
            "w2", clock.now(), lease=timedelta(seconds=60), limit=10, kinds=["order.sync"]
        )
        await uow.commit()
    assert len(first) == 1
    assert second == []
    clock.advance(61)
    async with ctx.uow() as uow:
        taken_over = await uow.jobs.claim(
            "w2", clock.now(), lease=timedelta(seconds=60), limit=10, kinds=["order.sync"]
        )
        assert not await uow.jobs.complete(first[0].id, "w1", clock.now())
        await uow.commit()
    assert [job.id for job in taken_over] == [first[0].id]


def entry(order: OrderRow, gateway: FakeGateway, at: datetime, **overrides: object) -> BillEntry:
    trade = gateway.trades[order.out_trade_no]
    values: dict[str, object] = {
        "trade_time": at,
        "appid": gateway.appid,
        "mchid": gateway.mchid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": trade.transaction_id or "",
        "trade_state": "SUCCESS",
        "total_fen": order.amount_total_fen,
        "out_refund_no": "",
        "refund_id": "",
        "refund_fen": 0,
        "refund_status": "",
    }
    values.update(overrides)
    return BillEntry(**values)  # type: ignore[arg-type]


async def test_reconciliation_fixes_a_missed_payment_and_flags_what_it_cannot_explain(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    clock.at = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
    missed = await prepaid_order(ctx)
    gateway.pay(missed.out_trade_no)
    matched = await prepaid_order(ctx)
    await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(gateway.pay(matched.out_trade_no))
    )
    not_in_bill = await prepaid_order(ctx)
    await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(gateway.pay(not_in_bill.out_trade_no))
    )
    day = date(2026, 11, 28)
    noon = datetime(2026, 11, 28, 12, 0, tzinfo=BEIJING)
    stranger = entry(
        matched,
        gateway,
        noon,
        out_trade_no="MPNOTOURS0000000001",
        transaction_id="4200000000000000000000000001",
    )
    gateway.bill[day] = [entry(missed, gateway, noon), entry(matched, gateway, noon), stranger]
    report = await reconcile(ctx, day)
    kinds = sorted((d.kind, d.resolution) for d in report.discrepancies)
    assert kinds == [
        ("MISSING_AT_WECHAT", "OPEN"),
        ("MISSING_LOCALLY", "OPEN"),
        ("STATUS_MISMATCH", "FIXED"),
    ]
    assert (await reload(ctx, missed.id)).status == OrderStatus.PAID
    assert report.summary["matched"] == 1
    again = await reconcile(ctx, day)
    async with ctx.uow(read_only=True) as uow:
        run = await uow.reconciliations.get(day)
        assert run is not None
        stored = await uow.reconciliations.discrepancies(run.id)
    assert len(stored) == len(again.discrepancies) == 2  # replaced, not duplicated; the fix holds


async def test_an_order_paid_just_before_midnight_is_held_for_the_next_bill(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    clock.at = datetime(2026, 11, 28, 15, 55, tzinfo=UTC)  # 23:55 in Beijing
    order = await prepaid_order(ctx)
    await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(gateway.pay(order.out_trade_no))
    )
    gateway.bill[date(2026, 11, 28)] = []
    report = await reconcile(ctx, date(2026, 11, 28))
    assert [(d.kind, d.resolution) for d in report.discrepancies] == [("MISSING_AT_WECHAT", "HELD")]
    assert report.unexplained == 0
    next_day = datetime(2026, 11, 29, 0, 1, tzinfo=BEIJING)
    gateway.bill[date(2026, 11, 29)] = [entry(order, gateway, next_day)]
    follow_up = await reconcile(ctx, date(2026, 11, 29))
    assert follow_up.discrepancies == []


async def test_a_day_without_a_bill_is_recorded_as_such(ctx: ServiceContext) -> None:
    report = await reconcile(ctx, date(2026, 11, 1))
    assert report.status == "NO_BILL"
