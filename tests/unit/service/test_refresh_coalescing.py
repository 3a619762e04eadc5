"""``GET /api/orders/{id}?refresh=true`` asks WeChat once per order at a time (issue 11, 6c)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from mppay.domain.catalog import RequestedLine
from mppay.domain.states import OrderStatus
from mppay.domain.wechat_facts import TradeSnapshot
from mppay.store.models import OrderEventRow
from mppay.usecases import orders, payments
from mppay.usecases.context import ServiceContext
from tests.support.fakes import FakeGateway
from tests.unit.service.conftest import make_user

REFRESHERS = 20


class GatedGateway(FakeGateway):
    """Trade queries wait at a gate the test opens, so that refreshes overlap for certain."""

    def __init__(self, inner: FakeGateway) -> None:
        self.__dict__.update(inner.__dict__)
        self.queries = 0
        self.gate = asyncio.Event()

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        self.queries += 1
        await self.gate.wait()
        return await super().query_trade(out_trade_no)


async def count_events(ctx: ServiceContext, order_id: str) -> int:
    async with ctx.uow(read_only=True) as uow:
        session = uow.session
        count = await session.scalar(
            select(func.count())
            .select_from(OrderEventRow)
            .where(OrderEventRow.order_id == order_id)
        )
    return int(count or 0)


async def test_concurrent_refreshes_of_one_order_share_one_query_and_write_no_event(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gated = GatedGateway(gateway)
    ctx.gateways = {"v3": gated}
    events_before = await count_events(ctx, order.id)

    refreshes = [
        asyncio.create_task(orders.get_user_order(ctx, user, order.id, refresh=True))
        for _ in range(REFRESHERS)
    ]
    # Let every refresher get as far as it can: either into the query or waiting for one.
    for _ in range(400):
        if gated.queries >= REFRESHERS or ctx.order_refreshes.callers(order.id) == REFRESHERS:
            break
        await asyncio.sleep(0.01)
    gated.gate.set()
    answers = await asyncio.gather(*refreshes)

    assert gated.queries == 1
    assert {answer.status for answer in answers} == {OrderStatus.PENDING}
    # WeChat said NOTPAY: nothing changed, so nothing is written.
    assert await count_events(ctx, order.id) == events_before


async def test_a_refresh_that_finds_the_payment_still_records_it(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gateway.pay(order.out_trade_no)
    events_before = await count_events(ctx, order.id)
    refreshed = await orders.get_user_order(ctx, user, order.id, refresh=True)
    assert refreshed.status == OrderStatus.PAID
    assert await count_events(ctx, order.id) > events_before
    assert ctx.order_refreshes.callers(order.id) == 0
