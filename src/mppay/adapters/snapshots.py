"""Library models to the domain's normalised ``TradeSnapshot`` / ``RefundSnapshot``.

A field the message leaves out stays ``None`` here (never a default such as 0): whether a
statement is complete enough to move money is decided once, by ``mppay.domain.checks``.
"""

from __future__ import annotations

from mppay.domain.wechat_facts import RefundSnapshot, TradeSnapshot, refund_status_from_wechat
from mppay.wechatpay.v2 import V2Order, V2PaymentNotification, V2RefundNotification, V2RefundRecord
from mppay.wechatpay.v3 import Refund, RefundResource, Transaction

__all__ = [
    "refund_from_v2_notification",
    "refund_from_v2_record",
    "refund_from_v3",
    "trade_from_v2_notification",
    "trade_from_v2_order",
    "trade_from_v3",
]


def trade_from_v3(transaction: Transaction) -> TradeSnapshot:
    return TradeSnapshot(
        appid=transaction.appid,
        mchid=transaction.mchid,
        out_trade_no=transaction.out_trade_no,
        trade_state=transaction.trade_state,
        transaction_id=transaction.transaction_id,
        amount_total_fen=transaction.amount.total if transaction.amount else None,
        currency=transaction.amount.currency if transaction.amount else None,
        payer_openid=transaction.payer.openid if transaction.payer else None,
        success_time=transaction.success_time,
    )


def trade_from_v2_order(order: V2Order, *, appid: str, mchid: str) -> TradeSnapshot:
    """A v2 order query; appid/mch_id are in the signed answer (fallback: what we asked)."""
    return TradeSnapshot(
        appid=order.appid or appid,
        mchid=order.mch_id or mchid,
        out_trade_no=order.out_trade_no,
        trade_state=order.trade_state,
        transaction_id=order.transaction_id,
        amount_total_fen=order.total_fee,
        currency=order.fee_type or "CNY",  # v2: fee_type is optional, CNY when absent
        payer_openid=order.openid,
        success_time=order.time_end,
    )


def trade_from_v2_notification(notice: V2PaymentNotification) -> TradeSnapshot:
    return TradeSnapshot(
        appid=notice.appid,
        mchid=notice.mch_id,
        out_trade_no=notice.out_trade_no,
        trade_state="SUCCESS" if notice.result_code == "SUCCESS" else "PAYERROR",
        transaction_id=notice.transaction_id,
        amount_total_fen=notice.total_fee,
        currency=notice.fee_type or "CNY",
        payer_openid=notice.openid,
        success_time=notice.time_end,
    )


def refund_from_v3(refund: Refund | RefundResource) -> RefundSnapshot:
    status = refund.status if isinstance(refund, Refund) else refund.refund_status
    return RefundSnapshot(
        out_refund_no=refund.out_refund_no,
        out_trade_no=refund.out_trade_no,
        refund_id=refund.refund_id,
        status=refund_status_from_wechat(status),
        refund_fen=refund.amount.refund if refund.amount else None,
        total_fen=refund.amount.total if refund.amount else None,
        success_time=refund.success_time,
    )


def refund_from_v2_record(
    record: V2RefundRecord, *, out_trade_no: str, total_fen: int
) -> RefundSnapshot:
    return RefundSnapshot(
        out_refund_no=record.out_refund_no,
        out_trade_no=out_trade_no,
        refund_id=record.refund_id,
        status=refund_status_from_wechat(record.refund_status),
        refund_fen=record.refund_fee,
        total_fen=total_fen,
        success_time=record.success_time,
    )


def refund_from_v2_notification(notice: V2RefundNotification) -> RefundSnapshot:
    """What the decrypted ``req_info`` states (not integrity-protected: see the v2 gateway)."""
    return RefundSnapshot(
        out_refund_no=notice.out_refund_no,
        out_trade_no=notice.out_trade_no,
        refund_id=notice.refund_id,
        status=refund_status_from_wechat(notice.refund_status),
        refund_fen=notice.refund_fee,
        total_fen=notice.total_fee,
        success_time=notice.success_time,
    )
