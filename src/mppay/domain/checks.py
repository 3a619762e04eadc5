"""Cross-checks of WeChat's statements against our own records (spec section 6, item 2).

A correctly signed message can still be about the wrong amount or the wrong merchant (a
misconfigured notify_url shared by two apps, a tampered but re-signed test environment). Only a
statement that agrees on every field may change money state.
"""

from __future__ import annotations

from dataclasses import dataclass

from .wechat_facts import Mismatch, RefundSnapshot, TradeSnapshot

__all__ = ["ExpectedRefund", "ExpectedTrade", "refund_mismatches", "trade_mismatches"]


@dataclass(frozen=True)
class ExpectedTrade:
    appid: str
    mchid: str
    out_trade_no: str
    amount_total_fen: int
    currency: str
    payer_openid: str | None


@dataclass(frozen=True)
class ExpectedRefund:
    out_refund_no: str
    out_trade_no: str
    refund_fen: int


def trade_mismatches(expected: ExpectedTrade, snapshot: TradeSnapshot) -> list[Mismatch]:
    """Every field on which ``snapshot`` contradicts ``expected``.

    Amount and currency are only compared when WeChat states them (an unpaid query may omit
    the amount); the payer only when both sides know it.
    """
    found: list[Mismatch] = []

    def compare(field: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            found.append(Mismatch(field, str(ours), str(theirs)))

    compare("appid", expected.appid, snapshot.appid)
    compare("mchid", expected.mchid, snapshot.mchid)
    compare("out_trade_no", expected.out_trade_no, snapshot.out_trade_no)
    if snapshot.amount_total_fen is not None:
        compare("amount_total", expected.amount_total_fen, snapshot.amount_total_fen)
    if snapshot.currency is not None:
        compare("currency", expected.currency, snapshot.currency)
    if expected.payer_openid and snapshot.payer_openid:
        compare("payer_openid", expected.payer_openid, snapshot.payer_openid)
    return found


def refund_mismatches(expected: ExpectedRefund, snapshot: RefundSnapshot) -> list[Mismatch]:
    found: list[Mismatch] = []
    if snapshot.out_refund_no != expected.out_refund_no:
        found.append(Mismatch("out_refund_no", expected.out_refund_no, snapshot.out_refund_no))
    if snapshot.out_trade_no is not None and snapshot.out_trade_no != expected.out_trade_no:
        found.append(Mismatch("out_trade_no", expected.out_trade_no, snapshot.out_trade_no))
    if snapshot.refund_fen is not None and snapshot.refund_fen != expected.refund_fen:
        found.append(Mismatch("refund_amount", str(expected.refund_fen), str(snapshot.refund_fen)))
    return found
