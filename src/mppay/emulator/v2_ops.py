"""The read-mostly v2 operations: orderquery, closeorder, refundquery, downloadbill (§4.4-4.8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.responses import Response

from .bills import build_bill, compress
from .clock import beijing_date, format_compact, format_v2_time
from .errors import BusinessError, V2BizError, V2Fail
from .messages import TRADE_STATE_DESC, V2_REFUND_STATUS
from .state import Order, Refund

if TYPE_CHECKING:
    from .emulator import Emulator
    from .v2 import V2Call

__all__ = ["V2Ops"]

CLOSE_MIN_AGE = 300
BILL_HISTORY_DAYS = 92
BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")


def BillFail(return_msg: str, error_code: str = "20001") -> V2Fail:  # noqa: N802
    """downloadbill failures carry an ``error_code`` next to ``return_msg``."""
    return V2Fail(return_msg, error_code=error_code)


def _order_fields(order: Order) -> dict[str, str]:
    fields = {"device_info": order.device_info}
    if order.transaction_id is not None:
        fields.update(
            {
                "openid": order.openid,
                "is_subscribe": "N",
                "trade_type": "JSAPI",
                "bank_type": "OTHERS",
                "total_fee": str(order.total),
                "fee_type": order.currency,
                "transaction_id": order.transaction_id,
                "out_trade_no": order.out_trade_no,
                "attach": order.attach,
                "time_end": format_compact(order.success_time or 0),
                "trade_state": order.trade_state,
                "cash_fee": str(order.total),
                "cash_fee_type": order.currency,
                "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            }
        )
    else:
        fields.update(
            {
                "out_trade_no": order.out_trade_no,
                "attach": order.attach,
                "total_fee": str(order.total),
                "trade_state": order.trade_state,
                "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            }
        )
    return fields


def _refund_fields(order: Order, refunds: list[Refund]) -> dict[str, str]:
    fields = {
        "transaction_id": order.transaction_id or "",
        "out_trade_no": order.out_trade_no,
        "total_fee": str(order.total),
        "cash_fee": str(order.total),
        "fee_type": order.currency,
        "refund_count": str(len(refunds)),
    }
    for n, refund in enumerate(refunds):
        fields.update(
            {
                f"out_refund_no_{n}": refund.out_refund_no,
                f"refund_id_{n}": refund.refund_id,
                f"refund_channel_{n}": "ORIGINAL",
                f"refund_fee_{n}": str(refund.refund),
                f"settlement_refund_fee_{n}": str(refund.refund),
                f"refund_status_{n}": V2_REFUND_STATUS[refund.status],
                f"refund_account_{n}": "REFUND_SOURCE_UNSETTLED_FUNDS",
                f"refund_recv_accout_{n}": refund.user_received_account,
            }
        )
        if refund.status == "SUCCESS" and refund.success_time is not None:
            fields[f"refund_success_time_{n}"] = format_v2_time(refund.success_time)
    return fields


class V2Ops:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def orderquery(self, call: V2Call) -> dict[str, str]:
        f = call.fields
        call.require("appid", "nonce_str")
        if not f.get("transaction_id") and not f.get("out_trade_no"):
            raise V2BizError("LACK_PARAMS", "transaction_id、out_trade_no至少填一个")
        order = self.emu.payments.get_order(
            call.merchant.mchid,
            out_trade_no=f.get("out_trade_no") or None,
            transaction_id=f.get("transaction_id") or None,
        )
        return _order_fields(order)

    def closeorder(self, call: V2Call) -> dict[str, str]:
        call.require("appid", "nonce_str", "out_trade_no")
        order = self.emu.payments.get_order(
            call.merchant.mchid, out_trade_no=call.fields["out_trade_no"]
        )
        if order.trade_state == "CLOSED":
            raise BusinessError("ORDER_CLOSED", "订单已关闭")
        self.emu.payments.close(call.merchant.mchid, order.out_trade_no, min_age=CLOSE_MIN_AGE)
        return {"result_msg": "OK"}

    def refundquery(self, call: V2Call) -> dict[str, str]:
        f = call.fields
        call.require("appid", "nonce_str")
        mchid = call.merchant.mchid
        payments = self.emu.payments
        if f.get("refund_id"):
            found = [
                r
                for r in self.emu.state.refunds.values()
                if r.mchid == mchid and r.refund_id == f["refund_id"]
            ]
            if not found:
                raise BusinessError("REFUND_NOT_FOUND")
            refunds = found
        elif f.get("out_refund_no"):
            refunds = [payments.get_refund(mchid, f["out_refund_no"])]
        elif f.get("transaction_id") or f.get("out_trade_no"):
            try:
                order = payments.get_order(
                    mchid,
                    out_trade_no=f.get("out_trade_no") or None,
                    transaction_id=f.get("transaction_id") or None,
                )
            except BusinessError:
                raise BusinessError("REFUND_NOT_FOUND") from None
            refunds = payments.refunds_of(order)
            if not refunds:
                raise BusinessError("REFUND_NOT_FOUND")
        else:
            raise V2BizError(
                "PARAM_ERROR", "refund_id、out_refund_no、transaction_id、out_trade_no至少填一个"
            )
        owner = self.emu.state.order(mchid, refunds[0].out_trade_no)
        assert owner is not None
        return _refund_fields(owner, refunds)

    def downloadbill(self, call: V2Call) -> Response:
        f = call.fields
        raw_date = f.get("bill_date", "")
        bill_type = f.get("bill_type") or "ALL"
        tar_type = f.get("tar_type", "")
        if not raw_date:
            raise BillFail("missing parameter")
        try:
            day = datetime.strptime(raw_date, "%Y%m%d").date()
        except ValueError:
            raise BillFail("invalid bill_date") from None
        if bill_type not in BILL_TYPES:
            raise BillFail("invalid bill_type")
        if tar_type not in ("", "GZIP"):
            raise BillFail("invalid tar_type")
        today = beijing_date(self.emu.clock.now())
        if day > today or day < today - timedelta(days=BILL_HISTORY_DAYS):
            raise BillFail("invalid bill_date")
        if day == today:
            raise BillFail("Bill Creating", "20003")
        data = None
        if bill_type != "RECHARGE_REFUND":
            data = build_bill(self.emu.state, call.merchant, day, bill_type)
        if data is None:
            raise BillFail("No Bill Exist", "20002")
        if tar_type == "GZIP":
            return Response(compress(data), media_type="application/octet-stream")
        return Response(data, media_type="text/plain; charset=utf-8")
