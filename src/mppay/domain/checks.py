"""Cross-checks of WeChat's statements against our own records (spec section 6, item 2).

A correctly signed message can still be about the wrong amount or the wrong merchant (a
misconfigured notify_url shared by two apps, a tampered but re-signed test environment). Only a
statement that agrees on every field may change money state, and a statement that money moved
must say how much and under which WeChat id: a SUCCESS without them is refused like a wrong
value (else it would mark an order paid for an unknown amount, and without a transaction_id
it would slip past the unique constraint that makes payments exactly-once).
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import RefundStatus
from .wechat_facts import Mismatch, RefundSnapshot, TradeOutcome, TradeSnapshot, trade_outcome

__all__ = [
    "ExpectedRefund",
    "ExpectedTrade",
    "missing_refund_fields",
    "missing_trade_fields",
    "refund_mismatches",
    "trade_mismatches",
]


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


def _states_payment(trade_state: str) -> bool:
    try:
        return trade_outcome(trade_state) is TradeOutcome.PAID
    except ValueError:
        return False  # an undocumented state moves no money; applying it is refused elsewhere


def missing_trade_fields(snapshot: TradeSnapshot) -> list[str]:
    """The fields a statement that the order is paid (``SUCCESS``, ``REFUND``) leaves out:
    ``amount_total``, ``currency``, ``transaction_id``. Empty for any other state."""
    if not _states_payment(snapshot.trade_state):
        return []
    stated = {
        "amount_total": snapshot.amount_total_fen is not None,
        "currency": bool(snapshot.currency),
        "transaction_id": bool(snapshot.transaction_id),
    }
    return [field for field, present in stated.items() if not present]


def missing_refund_fields(snapshot: RefundSnapshot) -> list[str]:
    """The fields a ``SUCCESS`` refund statement leaves out: ``refund_amount``, ``refund_id``.
    Empty for any other status."""
    if snapshot.status is not RefundStatus.SUCCESS:
        return []
    stated = {
        "refund_amount": snapshot.refund_fen is not None,
        "refund_id": bool(snapshot.refund_id),
    }
    return [field for field, present in stated.items() if not present]


def trade_mismatches(expected: ExpectedTrade, snapshot: TradeSnapshot) -> list[Mismatch]:
    """Every field on which ``snapshot`` contradicts ``expected``.

    A statement that the order is paid (``SUCCESS``, ``REFUND``) must carry the amount, the
    currency and the ``transaction_id``; each one missing is a ``Mismatch`` whose ``theirs`` is
    ``None``. Otherwise amount and currency are only compared when WeChat states them (an
    unpaid query may omit the amount); the payer only when both sides know it.
    """
    found: list[Mismatch] = []

    def compare(field: str, ours: object, theirs: object) -> None:
        if ours != theirs:
            found.append(Mismatch(field, str(ours), str(theirs)))

    compare("appid", expected.appid, snapshot.appid)
    compare("mchid", expected.mchid, snapshot.mchid)
    compare("out_trade_no", expected.out_trade_no, snapshot.out_trade_no)
    ours = {"amount_total": str(expected.amount_total_fen), "currency": expected.currency}
    found.extend(
        Mismatch(field, ours.get(field, ""), None) for field in missing_trade_fields(snapshot)
    )
    if snapshot.amount_total_fen is not None:
        compare("amount_total", expected.amount_total_fen, snapshot.amount_total_fen)
    if snapshot.currency:
        compare("currency", expected.currency, snapshot.currency)
    if expected.payer_openid and snapshot.payer_openid:
        compare("payer_openid", expected.payer_openid, snapshot.payer_openid)
    return found


def refund_mismatches(expected: ExpectedRefund, snapshot: RefundSnapshot) -> list[Mismatch]:
    """Every field on which ``snapshot`` contradicts ``expected``; a ``SUCCESS`` must state the
    refunded amount and WeChat's ``refund_id`` (each one missing: ``theirs`` is ``None``)."""
    found: list[Mismatch] = []
    if snapshot.out_refund_no != expected.out_refund_no:
        found.append(Mismatch("out_refund_no", expected.out_refund_no, snapshot.out_refund_no))
    if snapshot.out_trade_no is not None and snapshot.out_trade_no != expected.out_trade_no:
        found.append(Mismatch("out_trade_no", expected.out_trade_no, snapshot.out_trade_no))
    ours = {"refund_amount": str(expected.refund_fen)}
    found.extend(
        Mismatch(field, ours.get(field, ""), None) for field in missing_refund_fields(snapshot)
    )
    if snapshot.refund_fen is not None and snapshot.refund_fen != expected.refund_fen:
        found.append(Mismatch("refund_amount", str(expected.refund_fen), str(snapshot.refund_fen)))
    return found
