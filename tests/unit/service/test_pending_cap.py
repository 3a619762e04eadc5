"""A user cannot pile up open PENDING orders without limit (issue 11, item 6d)."""

from __future__ import annotations

import dataclasses

import pytest

from mppay.domain.catalog import RequestedLine
from mppay.domain.states import OrderStatus
from mppay.usecases import orders
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict
from tests.support.fakes import MutableClock
from tests.unit.service.conftest import make_user

LATTE = [RequestedLine("latte", 1)]


async def test_one_order_past_the_pending_cap_is_refused_with_a_specific_code(
    ctx: ServiceContext,
) -> None:
    capped = dataclasses.replace(ctx, max_pending_orders_per_user=3)
    alice = await make_user(capped, "o-alice")
    for _ in range(3):
        await orders.create_order(capped, alice, LATTE, None)
    with pytest.raises(Conflict) as refused:
        await orders.create_order(capped, alice, LATTE, None)
    assert refused.value.code == "TOO_MANY_PENDING_ORDERS"
    # Another user has a cap of their own.
    bob = await make_user(capped, "o-bob")
    assert (await orders.create_order(capped, bob, LATTE, None)).order.status == "PENDING"


async def test_an_idempotent_replay_still_answers_at_the_cap(ctx: ServiceContext) -> None:
    capped = dataclasses.replace(ctx, max_pending_orders_per_user=2)
    alice = await make_user(capped)
    first = await orders.create_order(capped, alice, LATTE, "key-1")
    await orders.create_order(capped, alice, LATTE, "key-2")
    replay = await orders.create_order(capped, alice, LATTE, "key-1")
    assert replay.replayed
    assert replay.order.id == first.order.id
    with pytest.raises(Conflict):
        await orders.create_order(capped, alice, LATTE, "key-3")


async def test_an_expired_pending_order_no_longer_counts_against_the_cap(
    ctx: ServiceContext, clock: MutableClock
) -> None:
    capped = dataclasses.replace(ctx, max_pending_orders_per_user=1)
    alice = await make_user(capped)
    stale = (await orders.create_order(capped, alice, LATTE, None)).order
    clock.advance(capped.order_ttl.total_seconds() + 1)  # past expires_at, not yet swept
    fresh = (await orders.create_order(capped, alice, LATTE, None)).order
    assert stale.status == fresh.status == OrderStatus.PENDING
