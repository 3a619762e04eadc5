"""Order and refund states, and the only transitions allowed between them.

Every state change in the store goes through ``ensure_*_transition`` and a conditional UPDATE
whose WHERE clause names the allowed source states, so two concurrent writers cannot both win.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ORDER_TRANSITIONS",
    "REFUND_TRANSITIONS",
    "IllegalTransitionError",
    "OrderStatus",
    "RefundStatus",
    "ensure_order_transition",
    "ensure_refund_transition",
    "order_sources_for",
    "refund_sources_for",
    "status_after_refunds",
]


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    CLOSED = "CLOSED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"

    @property
    def is_final_for_payment(self) -> bool:
        """True once the payment question is settled (paid, refunded or closed)."""
        return self is not OrderStatus.PENDING

    @property
    def is_paid(self) -> bool:
        return self in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


class RefundStatus(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"

    @property
    def is_final(self) -> bool:
        return self in (RefundStatus.SUCCESS, RefundStatus.CLOSED)


# CLOSED -> PAID exists because WeChat's word wins: if WeChat proves a payment on an order we
# closed locally (a close that raced the payment), the money was taken and must be recorded.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CLOSED}),
    OrderStatus.CLOSED: frozenset({OrderStatus.PAID}),
    OrderStatus.PAID: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset(
        {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
    ),
    OrderStatus.REFUNDED: frozenset(),
}

# ABNORMAL is not final: a human resolves it in the merchant portal and WeChat then reports
# SUCCESS or CLOSED.
REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.PROCESSING: frozenset(
        {RefundStatus.SUCCESS, RefundStatus.CLOSED, RefundStatus.ABNORMAL}
    ),
    RefundStatus.ABNORMAL: frozenset({RefundStatus.SUCCESS, RefundStatus.CLOSED}),
    RefundStatus.SUCCESS: frozenset(),
    RefundStatus.CLOSED: frozenset(),
}


class IllegalTransitionError(ValueError):
    """A state change the transition table does not allow."""


def ensure_order_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in ORDER_TRANSITIONS[current]:
        raise IllegalTransitionError(f"order cannot go from {current} to {target}")


def ensure_refund_transition(current: RefundStatus, target: RefundStatus) -> None:
    if target not in REFUND_TRANSITIONS[current]:
        raise IllegalTransitionError(f"refund cannot go from {current} to {target}")


def order_sources_for(target: OrderStatus) -> frozenset[OrderStatus]:
    """The states from which ``target`` may be reached: the WHERE clause of the UPDATE."""
    return frozenset(s for s, targets in ORDER_TRANSITIONS.items() if target in targets)


def refund_sources_for(target: RefundStatus) -> frozenset[RefundStatus]:
    return frozenset(s for s, targets in REFUND_TRANSITIONS.items() if target in targets)


def status_after_refunds(amount_total_fen: int, refunded_fen: int) -> OrderStatus:
    """The paid-order status that ``refunded_fen`` of successful refunds implies."""
    if refunded_fen < 0 or refunded_fen > amount_total_fen:
        raise ValueError(f"refunded {refunded_fen} fen is outside 0..{amount_total_fen}")
    if refunded_fen == 0:
        return OrderStatus.PAID
    if refunded_fen == amount_total_fen:
        return OrderStatus.REFUNDED
    return OrderStatus.PARTIALLY_REFUNDED
