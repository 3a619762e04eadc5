"""The kinds of entries in an order's append-only timeline."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderEventType"]


class OrderEventType(StrEnum):
    CREATED = "order.created"
    PREPAY_REQUESTED = "prepay.requested"
    PREPAY_OBTAINED = "prepay.obtained"
    PREPAY_REUSED = "prepay.reused"
    PREPAY_FAILED = "prepay.failed"
    PREPAY_OUTCOME_UNKNOWN = "prepay.outcome_unknown"
    NOTIFICATION_RECEIVED = "notification.received"
    NOTIFICATION_REJECTED = "notification.rejected"
    NOTIFICATION_DUPLICATE = "notification.duplicate"
    QUERIED = "wechat.queried"
    QUERY_FAILED = "wechat.query_failed"
    PAID = "order.paid"
    PAID_AFTER_CLOSE = "order.paid_after_close"
    MISMATCH = "review.mismatch"
    CLOSE_REQUESTED = "close.requested"
    CLOSE_FAILED = "close.failed"
    CLOSED = "order.closed"
    EXPIRED = "order.expired"
    REFUND_REQUESTED = "refund.requested"
    REFUND_ACCEPTED = "refund.accepted"
    REFUND_REJECTED = "refund.rejected"
    REFUND_OUTCOME_UNKNOWN = "refund.outcome_unknown"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_CLOSED = "refund.closed"
    REFUND_ABNORMAL = "refund.abnormal"
    RECONCILED_FIX = "reconciliation.fixed"
    SHIPPING_REQUESTED = "shipping.requested"
    SHIPPING_UPLOADED = "shipping.uploaded"
    SHIPPING_DEFERRED = "shipping.deferred"
    SHIPPING_REFUSED = "shipping.refused"
    SHIPPING_SHIPPED = "shipping.shipped"
    SHIPPING_CONFIRMED = "shipping.confirmed"
    SHIPPING_SETTLED = "shipping.settled"
    SHIPPING_REMINDED = "shipping.reminded"
    SHIPPING_OVERDUE = "shipping.overdue"
    SHIPPING_SYNCED = "shipping.synced"
