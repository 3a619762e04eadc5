from datetime import UTC, datetime

import pytest

from mppay.domain.catalog import Catalog, PricingError, Product, RequestedLine, price_order
from mppay.domain.checks import ExpectedTrade, trade_mismatches
from mppay.domain.identifiers import new_out_refund_no, new_out_trade_no
from mppay.domain.states import (
    IllegalTransitionError,
    OrderStatus,
    RefundStatus,
    ensure_order_transition,
    ensure_refund_transition,
    order_sources_for,
    status_after_refunds,
)
from mppay.domain.wechat_facts import (
    TradeOutcome,
    TradeSnapshot,
    refund_status_from_wechat,
    trade_outcome,
)

CATALOG = Catalog([Product("a", "A", "", 150), Product("b", "B", "", 99)])


def test_lines_are_priced_from_the_catalog_and_merged() -> None:
    lines, total = price_order(
        CATALOG, [RequestedLine("a", 2), RequestedLine("b", 1), RequestedLine("a", 1)]
    )
    assert [(line.product_id, line.quantity, line.line_total_fen) for line in lines] == [
        ("a", 3, 450),
        ("b", 1, 99),
    ]
    assert total == 549


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], "EMPTY_ORDER"),
        ([RequestedLine("zz", 1)], "UNKNOWN_PRODUCT"),
        ([RequestedLine("a", 0)], "INVALID_QUANTITY"),
        ([RequestedLine("a", 1000)], "INVALID_QUANTITY"),
    ],
)
def test_bad_lines_are_refused_with_a_code(lines: list[RequestedLine], code: str) -> None:
    with pytest.raises(PricingError) as info:
        price_order(CATALOG, lines)
    assert info.value.code == code


def test_a_product_price_must_be_positive_int_fen() -> None:
    with pytest.raises(ValueError, match="int"):
        Product("x", "X", "", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        Product("x", "X", "", 0)


def test_only_allowed_transitions_pass() -> None:
    ensure_order_transition(OrderStatus.PENDING, OrderStatus.PAID)
    ensure_order_transition(OrderStatus.CLOSED, OrderStatus.PAID)  # WeChat's proof of payment wins
    with pytest.raises(IllegalTransitionError):
        ensure_order_transition(OrderStatus.PAID, OrderStatus.CLOSED)
    with pytest.raises(IllegalTransitionError):
        ensure_order_transition(OrderStatus.REFUNDED, OrderStatus.PAID)
    ensure_refund_transition(RefundStatus.ABNORMAL, RefundStatus.SUCCESS)
    with pytest.raises(IllegalTransitionError):
        ensure_refund_transition(RefundStatus.SUCCESS, RefundStatus.CLOSED)
    assert order_sources_for(OrderStatus.PAID) == {OrderStatus.PENDING, OrderStatus.CLOSED}


@pytest.mark.parametrize(
    ("refunded", "status"),
    [(0, OrderStatus.PAID), (1, OrderStatus.PARTIALLY_REFUNDED), (100, OrderStatus.REFUNDED)],
)
def test_refunded_amount_decides_the_paid_status(refunded: int, status: OrderStatus) -> None:
    assert status_after_refunds(100, refunded) is status


def test_refunding_more_than_paid_is_impossible() -> None:
    with pytest.raises(ValueError, match="outside"):
        status_after_refunds(100, 101)


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("SUCCESS", TradeOutcome.PAID),
        ("REFUND", TradeOutcome.PAID),
        ("NOTPAY", TradeOutcome.NOT_PAID_YET),
        ("USERPAYING", TradeOutcome.NOT_PAID_YET),
        ("CLOSED", TradeOutcome.CLOSED),
        ("PAYERROR", TradeOutcome.CLOSED),
    ],
)
def test_wechat_trade_states_map_to_outcomes(state: str, outcome: TradeOutcome) -> None:
    assert trade_outcome(state) is outcome


def test_unknown_states_are_errors_not_guesses() -> None:
    with pytest.raises(ValueError, match="unknown"):
        trade_outcome("MAYBE")
    assert refund_status_from_wechat("REFUNDCLOSE") is RefundStatus.CLOSED
    assert refund_status_from_wechat("CHANGE") is RefundStatus.ABNORMAL


def test_every_contradicting_field_is_reported() -> None:
    expected = ExpectedTrade("wxA", "1900", "MP1", 100, "CNY", "oUser")
    snapshot = TradeSnapshot("wxB", "1900", "MP1", "SUCCESS", "4200", 1, "CNY", "oOther", None)
    assert [m.field for m in trade_mismatches(expected, snapshot)] == [
        "appid",
        "amount_total",
        "payer_openid",
    ]


def test_merchant_numbers_follow_wechat_rules_and_do_not_collide() -> None:
    now = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    numbers = {new_out_trade_no(now) for _ in range(2000)}
    assert len(numbers) == 2000
    sample = next(iter(numbers))
    assert len(sample) == 28
    assert sample.startswith("MP20261130003000")  # Beijing time
    assert sample.isalnum()
    assert len(new_out_refund_no(now)) <= 64
