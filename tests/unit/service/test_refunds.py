import asyncio

import pytest

from mppay.domain.catalog import RequestedLine
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.store.models import OrderRow
from mppay.usecases import notifications, orders, payments, refunds
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, UpstreamRefused
from mppay.usecases.ports import OutcomeUnknown, Refused
from tests.support.fakes import FakeGateway
from tests.unit.service.conftest import make_user

SIGNED = {"x-fake-signature": "ok"}


async def paid_order(ctx: ServiceContext, gateway: FakeGateway, product: str = "beans") -> OrderRow:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine(product, 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    body = gateway.notification_body(gateway.pay(order.out_trade_no))
    await notifications.receive_trade_notification(ctx, "v3", SIGNED, body)
    return order


async def settle(
    ctx: ServiceContext,
    gateway: FakeGateway,
    order: OrderRow,
    out_refund_no: str,
    status: RefundStatus,
) -> str:
    gateway.trades[order.out_trade_no].refund_status[out_refund_no] = status
    body = gateway.notification_body(gateway.refund_snapshot(order.out_trade_no, out_refund_no))
    return (await notifications.receive_refund_notification(ctx, "v3", SIGNED, body)).outcome


async def reload(ctx: ServiceContext, order_id: str) -> OrderRow:
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
    assert order is not None
    return order


async def test_partial_then_full_refund_moves_the_order_status(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)  # 6800 fen
    first = await refunds.create_refund(ctx, order.id, 1800, "one bag was damaged")
    assert first.status == RefundStatus.PROCESSING
    assert (
        await settle(ctx, gateway, order, first.out_refund_no, RefundStatus.SUCCESS)
        == "applied_success"
    )
    assert (await reload(ctx, order.id)).status == OrderStatus.PARTIALLY_REFUNDED
    second = await refunds.create_refund(ctx, order.id, 5000, None)
    await settle(ctx, gateway, order, second.out_refund_no, RefundStatus.SUCCESS)
    final = await reload(ctx, order.id)
    assert final.status == OrderStatus.REFUNDED
    assert final.refunded_fen == 6800


async def test_a_duplicate_refund_notification_counts_the_money_once(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    refund = await refunds.create_refund(ctx, order.id, 800, None)
    outcomes = [
        await settle(ctx, gateway, order, refund.out_refund_no, RefundStatus.SUCCESS)
        for _ in range(3)
    ]
    assert outcomes == ["applied_success", "duplicate", "duplicate"]
    assert (await reload(ctx, order.id)).refunded_fen == 800


async def test_concurrent_refunds_never_exceed_the_paid_amount(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)  # 6800 fen
    results = await asyncio.gather(
        *[refunds.create_refund(ctx, order.id, 3000, None) for _ in range(5)],
        return_exceptions=True,
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(accepted) == 2
    assert len(refused) == 3
    assert all(r.code == "REFUND_EXCEEDS_REFUNDABLE" for r in refused)
    assert (await reload(ctx, order.id)).refund_reserved_fen == 6000


async def test_unpaid_orders_cannot_be_refunded(ctx: ServiceContext) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    with pytest.raises(Conflict) as refused:
        await refunds.create_refund(ctx, order.id, 100, None)
    assert refused.value.code == "ORDER_NOT_PAID"


async def test_a_closed_refund_releases_its_reservation(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    refund = await refunds.create_refund(ctx, order.id, 6800, None)
    assert (
        await settle(ctx, gateway, order, refund.out_refund_no, RefundStatus.CLOSED)
        == "applied_closed"
    )
    after = await reload(ctx, order.id)
    assert after.refund_reserved_fen == 0
    assert after.status == OrderStatus.PAID
    retry = await refunds.create_refund(ctx, order.id, 6800, None)
    assert retry.status == RefundStatus.PROCESSING


async def test_a_refund_wechat_refuses_is_closed_and_released(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    gateway.fail_next.append(Refused("基本账户余额不足", code="NOT_ENOUGH"))
    with pytest.raises(UpstreamRefused) as refused:
        await refunds.create_refund(ctx, order.id, 100, None)
    assert "NOT_ENOUGH" in refused.value.message
    assert (await reload(ctx, order.id)).refund_reserved_fen == 0


async def test_an_uncertain_refund_is_resubmitted_with_the_same_out_refund_no(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    gateway.fail_next.append(OutcomeUnknown("read timeout"))
    refund = await refunds.create_refund(ctx, order.id, 500, None)
    assert refund.status == RefundStatus.PROCESSING
    assert refund.submit_state == "UNKNOWN"
    synced = await refunds.sync_refund(ctx, refund.id)
    assert synced.out_refund_no == refund.out_refund_no
    assert synced.submit_state == "ACCEPTED"
    assert list(gateway.trades[order.out_trade_no].refunds) == [refund.out_refund_no]


async def test_an_abnormal_refund_needs_attention_and_can_still_succeed(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    refund = await refunds.create_refund(ctx, order.id, 500, None)
    assert (
        await settle(ctx, gateway, order, refund.out_refund_no, RefundStatus.ABNORMAL)
        == "applied_abnormal"
    )
    async with ctx.uow(read_only=True) as uow:
        stored = await uow.refunds.get(refund.id)
    assert stored is not None
    assert stored.needs_attention
    assert (
        await settle(ctx, gateway, order, refund.out_refund_no, RefundStatus.SUCCESS)
        == "applied_success"
    )
    assert (await reload(ctx, order.id)).refunded_fen == 500
