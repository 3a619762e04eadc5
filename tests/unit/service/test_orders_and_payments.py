import asyncio

import pytest

from mppay.domain.catalog import RequestedLine
from mppay.domain.states import OrderStatus
from mppay.usecases import closing, login, notifications, orders, payments
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Unauthenticated,
    UpstreamUnavailable,
)
from mppay.usecases.notifications import Outcome
from mppay.usecases.ports import OutcomeUnknown
from tests.support.fakes import FakeGateway, FakeLogin, MutableClock
from tests.unit.service.conftest import make_user

SIGNED = {"x-fake-signature": "ok"}


async def test_login_issues_a_token_that_authenticates_and_can_be_revoked(
    ctx: ServiceContext, fake_login: FakeLogin
) -> None:
    issued = await login.login(ctx, fake_login.issue("o-bob"))
    user = await login.authenticate(ctx, issued.token)
    assert user.openid == "o-bob"
    await login.logout(ctx, issued.token)
    with pytest.raises(Unauthenticated):
        await login.authenticate(ctx, issued.token)


async def test_a_used_login_code_is_rejected(ctx: ServiceContext, fake_login: FakeLogin) -> None:
    code = fake_login.issue("o-bob")
    await login.login(ctx, code)
    with pytest.raises(Unauthenticated, match="rejected"):
        await login.login(ctx, code)


async def test_the_server_prices_the_order_from_its_catalog(ctx: ServiceContext) -> None:
    user = await make_user(ctx)
    created = await orders.create_order(
        ctx, user, [RequestedLine("latte", 2), RequestedLine("croissant", 1)], None
    )
    assert created.order.amount_total_fen == 2 * 1800 + 1250
    assert created.order.status == OrderStatus.PENDING
    assert [item.line_total_fen for item in created.order.items] == [3600, 1250]


async def test_unknown_products_and_bad_quantities_are_refused(ctx: ServiceContext) -> None:
    user = await make_user(ctx)
    with pytest.raises(InvalidInput) as unknown:
        await orders.create_order(ctx, user, [RequestedLine("nope", 1)], None)
    assert unknown.value.code == "UNKNOWN_PRODUCT"
    with pytest.raises(InvalidInput) as quantity:
        await orders.create_order(ctx, user, [RequestedLine("latte", 0)], None)
    assert quantity.value.code == "INVALID_QUANTITY"


async def test_same_idempotency_key_and_body_gives_the_same_order(ctx: ServiceContext) -> None:
    user = await make_user(ctx)
    first = await orders.create_order(ctx, user, [RequestedLine("latte", 1)], "key-1")
    again = await orders.create_order(ctx, user, [RequestedLine("latte", 1)], "key-1")
    assert again.replayed
    assert again.order.id == first.order.id
    with pytest.raises(Conflict) as reused:
        await orders.create_order(ctx, user, [RequestedLine("latte", 2)], "key-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_concurrent_requests_with_one_idempotency_key_create_one_order(
    ctx: ServiceContext,
) -> None:
    user = await make_user(ctx)
    results = await asyncio.gather(
        *[orders.create_order(ctx, user, [RequestedLine("latte", 1)], "same-key") for _ in range(5)]
    )
    assert len({r.order.id for r in results}) == 1


async def test_other_users_orders_are_not_found(ctx: ServiceContext) -> None:
    alice = await make_user(ctx, "o-alice")
    mallory = await make_user(ctx, "o-mallory")
    order = (await orders.create_order(ctx, alice, [RequestedLine("latte", 1)], None)).order
    with pytest.raises(NotFound):
        await orders.get_user_order(ctx, mallory, order.id)
    with pytest.raises(NotFound):
        await payments.pay_order(ctx, mallory, order.id, client_ip="127.0.0.1")
    with pytest.raises(NotFound):
        await closing.cancel_order(ctx, mallory, order.id)


async def test_pay_reuses_a_fresh_prepay_and_gets_a_new_one_after_it_ages(
    ctx: ServiceContext, gateway: FakeGateway, clock: MutableClock
) -> None:
    ctx.order_ttl = ctx.order_ttl * 10
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    first = await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    second = await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    assert first.params["package"] == second.params["package"]
    assert gateway.calls.count("prepay") == 1
    clock.advance(115 * 60)  # the prepay_id has less than 10 minutes left
    third = await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    assert third.params["package"] != first.params["package"]
    assert gateway.calls.count("prepay") == 2
    assert len(gateway.trades) == 1  # same out_trade_no: WeChat can only be paid once


async def test_a_timeout_on_prepay_is_reported_as_retryable(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    gateway.fail_next.append(OutcomeUnknown("timed out"))
    with pytest.raises(UpstreamUnavailable):
        await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    retried = await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    assert retried.params["package"].startswith("prepay_id=wx")


async def test_duplicate_notifications_pay_the_order_exactly_once(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("beans", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    body = gateway.notification_body(gateway.pay(order.out_trade_no))
    outcomes = await asyncio.gather(
        *[notifications.receive_trade_notification(ctx, "v3", SIGNED, body) for _ in range(6)]
    )
    assert sorted(o.outcome for o in outcomes) == ["applied_paid"] + ["duplicate"] * 5
    assert sorted(o.kind for o in outcomes) == [Outcome.APPLIED] + [Outcome.DUPLICATE] * 5
    paid = await orders.get_user_order(ctx, user, order.id)
    assert paid.status == OrderStatus.PAID
    assert paid.transaction_id == gateway.trades[order.out_trade_no].transaction_id


async def test_an_amount_mismatch_flags_the_order_and_does_not_pay_it(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("beans", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gateway.pay(order.out_trade_no)
    forged = gateway.snapshot(order.out_trade_no, amount_total_fen=1)
    result = await notifications.receive_trade_notification(
        ctx, "v3", SIGNED, gateway.notification_body(forged)
    )
    assert result.outcome == "mismatch"
    assert result.kind is Outcome.MISMATCH_FLAGGED
    async with ctx.uow(read_only=True) as uow:
        stored = await uow.orders.get(order.id)
        events = [e.type for e in await uow.events.for_order(order.id)]
    assert stored is not None
    assert stored.status == OrderStatus.PENDING
    assert stored.needs_review
    assert "amount_total" in (stored.review_reason or "")
    assert "review.mismatch" in events


async def test_an_unsigned_notification_is_rejected_and_recorded_without_changes(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    body = gateway.notification_body(gateway.pay(order.out_trade_no))
    result = await notifications.receive_trade_notification(ctx, "v3", {}, body)
    assert result.outcome == "rejected"
    assert result.kind is Outcome.REJECTED_SIGNATURE
    async with ctx.uow(read_only=True) as uow:
        stored = await uow.orders.get(order.id)
        audit = await uow.notifications.count_by_outcome()
    assert stored is not None
    assert stored.status == OrderStatus.PENDING
    assert audit["rejected"] == 1


async def test_refresh_recovers_a_payment_whose_notification_never_came(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gateway.pay(order.out_trade_no)
    assert (await orders.get_user_order(ctx, user, order.id)).status == OrderStatus.PENDING
    refreshed = await orders.get_user_order(ctx, user, order.id, refresh=True)
    assert refreshed.status == OrderStatus.PAID


async def test_cancel_closes_at_wechat_then_locally(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    closed = await closing.cancel_order(ctx, user, order.id)
    assert closed.status == OrderStatus.CLOSED
    assert gateway.trades[order.out_trade_no].state == "CLOSED"
    with pytest.raises(Conflict) as again:
        await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    assert again.value.code == "ORDER_CLOSED"


async def test_cancel_of_an_order_paid_at_the_last_second_records_it_as_paid(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    await payments.pay_order(ctx, user, order.id, client_ip="1.2.3.4")
    gateway.pay(order.out_trade_no)
    with pytest.raises(Conflict) as paid:
        await closing.cancel_order(ctx, user, order.id)
    assert paid.value.code == "ORDER_ALREADY_PAID"
    assert (await orders.get_user_order(ctx, user, order.id)).status == OrderStatus.PAID


async def test_an_order_never_sent_to_wechat_is_closed_locally(
    ctx: ServiceContext, gateway: FakeGateway
) -> None:
    user = await make_user(ctx)
    order = (await orders.create_order(ctx, user, [RequestedLine("latte", 1)], None)).order
    closed = await closing.cancel_order(ctx, user, order.id)
    assert closed.status == OrderStatus.CLOSED
    assert "close" not in gateway.calls


async def test_a_user_lists_only_their_orders_newest_first_in_pages(
    ctx: ServiceContext, clock: MutableClock
) -> None:
    alice = await make_user(ctx, "o-alice")
    bob = await make_user(ctx, "o-bob")
    ids = []
    for _ in range(5):
        ids.append(
            (await orders.create_order(ctx, alice, [RequestedLine("latte", 1)], None)).order.id
        )
        clock.advance(1)
    await orders.create_order(ctx, bob, [RequestedLine("latte", 1)], None)
    first = await orders.list_user_orders(ctx, alice, limit=3, cursor=None)
    second = await orders.list_user_orders(ctx, alice, limit=3, cursor=first.next_cursor)
    assert [o.id for o in first.items + second.items] == list(reversed(ids))
    assert second.next_cursor is None
