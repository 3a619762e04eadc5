"""WeChat answers (queries, notifications) that state SUCCESS but leave out a field money
depends on: applied through the same path as any answer, they pay nothing and flag a human."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mppay.domain.catalog import RequestedLine
from mppay.domain.states import OrderStatus, RefundStatus
from mppay.domain.wechat_facts import RefundSnapshot, TradeSnapshot
from mppay.store.models import OrderRow
from mppay.usecases import notifications, orders, payments, refunds
from mppay.usecases.context import ServiceContext
from mppay.usecases.notifications import Outcome
from mppay.usecases.trade_sync import refresh_order
from tests.support.fakes import FakeGateway, MutableClock
from tests.unit.service.conftest import make_user

SIGNED = {"x-fake-signature": "ok"}


class IncompleteAnswers(FakeGateway):
    """WeChat whose query answers leave out the fields named in ``omit`` (set to ``None``)."""

    omit: tuple[str, ...] = ()

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        answer = await super().query_trade(out_trade_no)
        return replace(answer, **dict.fromkeys(self.omit))

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot:
        answer = await super().query_refund(out_refund_no, out_trade_no)
        return replace(answer, **dict.fromkeys(self.omit))


@pytest.fixture
def gateway(clock: MutableClock) -> IncompleteAnswers:
    return IncompleteAnswers(clock)


async def reload(ctx: ServiceContext, order_id: str) -> tuple[OrderRow, list[str]]:
    async with ctx.uow(read_only=True) as uow:
        order = await uow.orders.get(order_id)
        events = [e.type for e in await uow.events.for_order(order_id)]
    assert order is not None
    return order, events


async def paid_at_wechat(ctx: ServiceContext, gateway: IncompleteAnswers) -> OrderRow:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("beans", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gateway.pay(order.out_trade_no)
    return order


@pytest.mark.parametrize("missing", ["amount_total_fen", "currency", "transaction_id"])
async def test_a_refresh_whose_answer_leaves_out_a_field_does_not_pay_the_order(
    ctx: ServiceContext, gateway: IncompleteAnswers, missing: str
) -> None:
    order = await paid_at_wechat(ctx, gateway)
    gateway.omit = (missing,)
    user = await make_user(ctx)  # same openid: the order's owner
    shown = await orders.get_user_order(ctx, user, order.id, refresh=True)
    assert shown.status == OrderStatus.PENDING
    stored, events = await reload(ctx, order.id)
    assert stored.status == OrderStatus.PENDING
    assert stored.transaction_id is None
    assert stored.needs_review
    assert missing.removesuffix("_fen") in (stored.review_reason or "")
    assert "missing" in (stored.review_reason or "")
    assert "review.mismatch" in events
    assert "order.paid" not in events


async def test_the_sync_job_path_refuses_an_answer_without_amount_then_pays_a_complete_one(
    ctx: ServiceContext, gateway: IncompleteAnswers
) -> None:
    order = await paid_at_wechat(ctx, gateway)
    gateway.omit = ("amount_total_fen", "currency", "transaction_id", "payer_openid")
    assert (await refresh_order(ctx, order.id, source="sync_job")).status == OrderStatus.PENDING
    gateway.omit = ()
    assert (await refresh_order(ctx, order.id, source="sync_job")).status == OrderStatus.PAID


async def test_a_notification_without_transaction_id_is_acknowledged_but_does_not_pay(
    ctx: ServiceContext, gateway: IncompleteAnswers
) -> None:
    order = await paid_at_wechat(ctx, gateway)
    stated = gateway.snapshot(order.out_trade_no, transaction_id=None, payer_openid=None)
    result = await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(stated)
    )
    assert result.outcome == "mismatch"
    # Flagged for a human; the web edge acknowledges it (WeChat repeating it would not help).
    assert result.kind is Outcome.MISMATCH_FLAGGED
    stored, _events = await reload(ctx, order.id)
    assert stored.status == OrderStatus.PENDING
    assert "transaction_id" in (stored.review_reason or "")
    async with ctx.uow(read_only=True) as uow:
        assert (await uow.notifications.count_by_outcome())["mismatch"] == 1


@pytest.mark.parametrize("missing", ["refund_fen", "refund_id"])
async def test_a_refund_query_answer_without_amount_or_refund_id_does_not_settle_it(
    ctx: ServiceContext, gateway: IncompleteAnswers, missing: str
) -> None:
    order = await paid_at_wechat(ctx, gateway)
    body = gateway.notification_body(gateway.snapshot(order.out_trade_no))
    await notifications.receive_trade_notification(ctx, "v3", SIGNED, body)
    refund = await refunds.create_refund(ctx, order.id, 1800, None)
    gateway.trades[order.out_trade_no].refund_status[refund.out_refund_no] = RefundStatus.SUCCESS
    gateway.omit = (missing,)
    synced = await refunds.sync_refund(ctx, refund.id)
    assert synced.status == RefundStatus.PROCESSING
    assert synced.needs_attention
    assert missing.replace("_fen", "_amount") in (synced.error_message or "")
    stored, _events = await reload(ctx, order.id)
    assert stored.refunded_fen == 0
    assert stored.status == OrderStatus.PAID
    assert stored.needs_review
    gateway.omit = ()
    assert (await refunds.sync_refund(ctx, refund.id)).status == RefundStatus.SUCCESS
