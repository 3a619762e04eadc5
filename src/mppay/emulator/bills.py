"""Trade bills in WeChat's file format (§2.10, §4.8) and the short-lived download tokens.

The file: a header line, one row per payment or refund, the summary header, the summary row.
Fields are comma-separated and every data field starts with a backtick; lines end in CRLF; UTF-8
without BOM; amounts in yuan, fees with five decimals at the standard 0.60 % rate. A day's bill
exists once that Beijing day has ended on the business clock. Rows: a payment appears on the day
it succeeded; a refund on the day it succeeded, with ``交易时间`` = the original payment's time.
"""

from __future__ import annotations

import gzip
import secrets
from dataclasses import dataclass
from datetime import date

from .clock import beijing_date, format_v2_time
from .state import EmulatorState, Merchant, Order, Refund

__all__ = ["BILL_TYPES", "BillTokens", "build_bill", "compress"]

BILL_TYPES = ("ALL", "SUCCESS", "REFUND")
TOKEN_LIFE = 300
FEE_RATE_TEXT = "0.60%"

_COMMON = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额"
HEADERS = {
    "ALL": _COMMON
    + ",微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注",
    "SUCCESS": _COMMON + ",商品名称,商户数据包,手续费,费率,订单金额,费率备注",
    "REFUND": _COMMON
    + ",退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注",
}
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fee_fen(amount_fen: int) -> int:
    """0.60 % of the amount, rounded half up to a fen."""
    return (amount_fen * 6 + 500) // 1000


def fee_text(fen: int) -> str:
    return yuan(fen) + "000"


@dataclass(frozen=True)
class _Row:
    when: float
    seq: int
    fields: list[str]
    settle: int = 0
    refund: int = 0
    fee: int = 0
    order_total: int = 0
    refund_requested: int = 0


def _head(order: Order) -> list[str]:
    return [
        format_v2_time(order.success_time or 0),
        order.appid,
        order.mchid,
        "0",
        order.device_info,
        order.transaction_id or "",
        order.out_trade_no,
        order.openid,
        "JSAPI",
    ]


def _payment_row(order: Order, bill_type: str, seq: int) -> _Row:
    total = order.total if order.bill_total is None else order.bill_total
    fee = fee_fen(total)
    head = [*_head(order), "SUCCESS", "OTHERS", order.currency, yuan(total), "0.00"]
    tail = [order.description, order.attach, fee_text(fee), FEE_RATE_TEXT, yuan(total)]
    if bill_type == "SUCCESS":
        fields = [*head, *tail, ""]
    else:
        fields = [*head, "0", "0", "0.00", "0.00", "", "", *tail, "0.00", ""]
    return _Row(order.success_time or 0, seq, fields, settle=total, fee=fee, order_total=total)


def _refund_row(order: Order, refund: Refund, bill_type: str, seq: int) -> _Row:
    fee = -fee_fen(refund.refund)
    head = [*_head(order), "REFUND", "OTHERS", order.currency, "0.00", "0.00"]
    refund_part = [
        refund.refund_id,
        refund.out_refund_no,
        yuan(refund.refund),
        "0.00",
        "ORIGINAL",
        "SUCCESS",
    ]
    tail = [order.description, order.attach, fee_text(fee), FEE_RATE_TEXT, "0.00"]
    if bill_type == "REFUND":
        times = [format_v2_time(refund.created_at), format_v2_time(refund.success_time or 0)]
        fields = [*head, *times, *refund_part, *tail, yuan(refund.refund), ""]
    else:
        fields = [*head, *refund_part, *tail, yuan(refund.refund), ""]
    return _Row(
        refund.success_time or 0,
        seq,
        fields,
        refund=refund.refund,
        fee=fee,
        refund_requested=refund.refund,
    )


def build_bill(state: EmulatorState, merchant: Merchant, day: date, bill_type: str) -> bytes | None:
    """The bill file of one Beijing day, or None when that day has no matching row."""
    rows: list[_Row] = []
    for seq, order in enumerate(state.orders.values()):
        if order.mchid != merchant.mchid or order.success_time is None:
            continue
        if bill_type in ("ALL", "SUCCESS") and beijing_date(order.success_time) == day:
            rows.append(_payment_row(order, bill_type, seq))
    if bill_type in ("ALL", "REFUND"):
        for seq, refund in enumerate(state.refunds.values()):
            if refund.mchid != merchant.mchid or refund.status != "SUCCESS":
                continue
            if refund.success_time is None or beijing_date(refund.success_time) != day:
                continue
            paid = state.order(refund.mchid, refund.out_trade_no)
            if paid is not None:
                rows.append(_refund_row(paid, refund, bill_type, 100_000 + seq))
    if not rows:
        return None
    rows.sort(key=lambda r: (r.when, r.seq))
    lines = [HEADERS[bill_type]]
    lines += [",".join("`" + field for field in row.fields) for row in rows]
    summary = [
        str(len(rows)),
        yuan(sum(r.settle for r in rows)),
        yuan(sum(r.refund for r in rows)),
        "0.00",
        fee_text(sum(r.fee for r in rows)),
        yuan(sum(r.order_total for r in rows)),
        yuan(sum(r.refund_requested for r in rows)),
    ]
    lines += [SUMMARY_HEADER, ",".join("`" + field for field in summary)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def compress(data: bytes) -> bytes:
    """gzip with mtime 0, so the same bill always compresses to the same bytes."""
    return gzip.compress(data, mtime=0)


@dataclass(frozen=True)
class BillFile:
    mchid: str
    data: bytes
    gzipped: bool
    expires_at: float


class BillTokens:
    """``download_url`` tokens: bound to one merchant, valid 5 minutes of business time."""

    def __init__(self) -> None:
        self._files: dict[str, BillFile] = {}

    def issue(self, mchid: str, data: bytes, *, gzipped: bool, now: float) -> str:
        self._files = {t: f for t, f in self._files.items() if f.expires_at > now}
        token = secrets.token_urlsafe(24)
        self._files[token] = BillFile(mchid, data, gzipped, now + TOKEN_LIFE)
        return token

    def get(self, token: str, mchid: str, now: float) -> BillFile | None:
        found = self._files.get(token)
        if found is None or found.mchid != mchid or found.expires_at <= now:
            return None
        return found
