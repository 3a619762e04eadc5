"""Replays of an operator's refund under one Idempotency-Key answer like the first call did."""

import pytest

from mppay.usecases import refunds
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import UpstreamRefused
from mppay.usecases.ports import Refused
from tests.support.fakes import FakeGateway
from tests.unit.service.test_refunds import paid_order


async def test_a_replay_of_a_refund_wechat_refused_is_refused_again_without_a_new_call(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    gateway.fail_next.append(Refused("基本账户余额不足", code="NOT_ENOUGH"))
    with pytest.raises(UpstreamRefused) as first:
        await refunds.request_refund(ctx, order.id, 100, None, idempotency_key="k1")
    trade = gateway.trades[order.out_trade_no]
    sent = dict(trade.refund_status)
    with pytest.raises(UpstreamRefused) as again:
        await refunds.request_refund(ctx, order.id, 100, None, idempotency_key="k1")
    assert (again.value.code, again.value.message) == (first.value.code, first.value.message)
    assert trade.refund_status == sent


async def test_a_retry_of_a_full_refund_gets_that_refund_not_exceeds_refundable(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    order = await paid_order(ctx, gateway)
    first = await refunds.request_refund(ctx, order.id, 6800, "all", idempotency_key="full")
    again = await refunds.request_refund(ctx, order.id, 6800, "all", idempotency_key="full")
    assert (again.refund.id, again.replayed) == (first.refund.id, True)
