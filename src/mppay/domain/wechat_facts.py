"""What WeChat Pay says about a trade or a refund, normalised across API v3 and v2.

A notification and an order query produce the same ``TradeSnapshot``, so both are applied by
the same code path with the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .states import RefundStatus

__all__ = [
    "BillEntry",
    "Mismatch",
    "RefundSnapshot",
    "TradeOutcome",
    "TradeSnapshot",
    "refund_status_from_wechat",
    "trade_outcome",
]


class TradeOutcome(StrEnum):
    """What a WeChat ``trade_state`` means for our order."""

    PAID = "PAID"  # money taken: SUCCESS, or REFUND (a refund was started, so it was paid)
    NOT_PAID_YET = "NOT_PAID_YET"  # NOTPAY, USERPAYING, ACCEPT: may still be paid
    CLOSED = "CLOSED"  # CLOSED, REVOKED, PAYERROR: will never be paid under this out_trade_no


_OUTCOME_BY_TRADE_STATE = {
    "SUCCESS": TradeOutcome.PAID,
    "REFUND": TradeOutcome.PAID,
    "NOTPAY": TradeOutcome.NOT_PAID_YET,
    "USERPAYING": TradeOutcome.NOT_PAID_YET,
    "ACCEPT": TradeOutcome.NOT_PAID_YET,
    "CLOSED": TradeOutcome.CLOSED,
    "REVOKED": TradeOutcome.CLOSED,
    "PAYERROR": TradeOutcome.CLOSED,
}


def trade_outcome(trade_state: str) -> TradeOutcome:
    """Map a v3/v2 ``trade_state``; ``ValueError`` for a state WeChat does not document."""
    try:
        return _OUTCOME_BY_TRADE_STATE[trade_state]
    except KeyError:
        raise ValueError(f"unknown WeChat trade_state {trade_state!r}") from None


_REFUND_STATUS = {
    # v3 spellings
    "SUCCESS": RefundStatus.SUCCESS,
    "CLOSED": RefundStatus.CLOSED,
    "PROCESSING": RefundStatus.PROCESSING,
    "ABNORMAL": RefundStatus.ABNORMAL,
    # v2 spellings
    "REFUNDCLOSE": RefundStatus.CLOSED,
    "CHANGE": RefundStatus.ABNORMAL,
    "FAIL": RefundStatus.CLOSED,
}


def refund_status_from_wechat(status: str) -> RefundStatus:
    try:
        return _REFUND_STATUS[status]
    except KeyError:
        raise ValueError(f"unknown WeChat refund status {status!r}") from None


@dataclass(frozen=True)
class TradeSnapshot:
    """One authenticated statement from WeChat about a trade."""

    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str
    transaction_id: str | None
    amount_total_fen: int | None
    currency: str | None
    payer_openid: str | None
    success_time: datetime | None

    @property
    def outcome(self) -> TradeOutcome:
        return trade_outcome(self.trade_state)


@dataclass(frozen=True)
class RefundSnapshot:
    """One authenticated statement from WeChat about a refund."""

    out_refund_no: str
    out_trade_no: str | None
    refund_id: str | None
    status: RefundStatus
    refund_fen: int | None
    total_fen: int | None
    success_time: datetime | None


@dataclass(frozen=True)
class Mismatch:
    """A field where WeChat's statement disagrees with our own record.

    ``theirs`` is ``None`` when the statement leaves out a field it must carry (a SUCCESS
    without its amount), which is as disqualifying as a wrong value.
    """

    field: str
    ours: str
    theirs: str | None

    def __str__(self) -> str:
        if self.theirs is None:
            ours = f" (ours={self.ours!r})" if self.ours else ""
            return f"{self.field}: missing from WeChat's SUCCESS statement{ours}"
        return f"{self.field}: ours={self.ours!r} wechat={self.theirs!r}"


@dataclass(frozen=True)
class BillEntry:
    """One row of WeChat's trade bill: a payment (``out_refund_no`` empty) or a refund."""

    trade_time: datetime
    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str
    trade_state: str
    total_fen: int
    out_refund_no: str
    refund_id: str
    refund_fen: int
    refund_status: str

    @property
    def is_refund(self) -> bool:
        return bool(self.out_refund_no)
