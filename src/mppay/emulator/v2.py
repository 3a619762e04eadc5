"""API v2 endpoints: XML in, XML out, MD5 / HMAC-SHA256 signatures (§4).

Two levels of failure, as WeChat answers them, always with HTTP 200:
- protocol (``return_code`` FAIL + ``return_msg``, unsigned): GET instead of POST, empty body,
  not UTF-8, not XML (XXE included), unknown ``mch_id``, bad or missing ``sign``;
- business (``return_code`` SUCCESS, ``result_code`` FAIL, ``err_code``/``err_code_des``, signed
  with the request's ``sign_type``).
The request's ``Content-Type`` is ignored (wechatpy sends none). ``secapi/pay/refund`` needs a
TLS client certificate at WeChat; plain HTTP cannot carry one, so the emulator does not check it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .clock import parse_compact
from .crypto import v2_sign, v2_verify
from .errors import BodyTooLarge, BusinessError, V2BizError, V2Fail
from .faults import run_api
from .payments import OrderRequest, RefundRequest
from .rules import OUT_REFUND_NO, OUT_TRADE_NO, has_4byte_chars
from .state import Merchant
from .v2_ops import V2Ops
from .wire import read_body, route_path
from .xmlcodec import XmlFormatError, build_xml, parse_xml

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["V2Api", "v2_fail_response"]

XML_TYPE = "text/xml; charset=utf-8"

_KINDS: dict[str, tuple[str, str | None]] = {
    "APPID_MISMATCH": ("APPID_MCHID_NOT_MATCH", None),
    "OPENID_MISMATCH": ("PARAM_ERROR", None),
    "OUT_TRADE_NO_CONFLICT": ("INVALID_REQUEST", None),
    "ORDER_PAID": ("ORDERPAID", None),
    "ORDER_CLOSED": ("ORDERCLOSED", None),
    "ORDER_NOT_FOUND": ("ORDERNOTEXIST", "订单不存在"),
    "ORDER_UNPAID": ("ORDERNOTEXIST", "订单未支付，不能退款"),
    "CLOSE_TOO_EARLY": ("INVALID_REQUEST", None),
    "REFUND_NOT_FOUND": ("REFUNDNOTEXIST", "退款订单查询失败"),
    "REFUND_CONFLICT": ("INVALID_REQUEST", None),
    "REFUND_TOTAL_MISMATCH": ("PARAM_ERROR", None),
    "REFUND_EXCEEDS": ("ERROR", "累计退款金额大于支付金额"),
    "REFUND_FULL": ("ERROR", None),
    "REFUND_LIMIT": ("ERROR", None),
    "TRADE_OVERDUE": ("TRADE_OVERDUE", None),
    "NOT_ENOUGH": ("NOTENOUGH", "基本账户余额不足，请充值后重新发起"),
}


def v2_fail_response(
    return_msg: str, *, status: int = 200, extra: dict[str, str] | None = None
) -> Response:
    """A protocol-level failure: ``return_code`` FAIL, unsigned, HTTP 200 unless told."""
    body = build_xml({"return_code": "FAIL", "return_msg": return_msg, **(extra or {})})
    return Response(body, status_code=status, media_type=XML_TYPE)


@dataclass
class V2Call:
    merchant: Merchant
    fields: dict[str, str]
    sign_type: str
    request: Request

    def require(self, *names: str) -> None:
        for name in names:
            if not self.fields.get(name):
                raise V2BizError("LACK_PARAMS", f"缺少参数{name}")


V2Result = dict[str, str] | Response
V2Op = Callable[[V2Call], V2Result]


class V2Api:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.ops = V2Ops(emulator)

    def routes(self) -> list[Route]:
        def route(path: str, op: V2Op, *, bill: bool = False) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, op, bill=bill)

            return Route(path, endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])

        return [
            route("/pay/unifiedorder", self.unifiedorder),
            route("/pay/orderquery", self.ops.orderquery),
            route("/pay/closeorder", self.ops.closeorder),
            route("/secapi/pay/refund", self.refund),
            route("/pay/refundquery", self.ops.refundquery),
            route("/pay/downloadbill", self.ops.downloadbill, bill=True),
        ]

    def _authenticate(self, fields: dict[str, str], *, bill: bool) -> tuple[Merchant, str]:
        merchant = self.emu.state.merchants.get(fields.get("mch_id", ""))
        if merchant is None:
            raise V2Fail(
                "mch_id参数错误，商户号不存在" if fields.get("mch_id") else "缺少参数mch_id"
            )
        sign_type = fields.get("sign_type") or "MD5"
        if sign_type not in ("MD5", "HMAC-SHA256"):
            raise V2Fail("sign_type参数错误")
        if not fields.get("sign") or not v2_verify(fields, merchant.api_v2_key, sign_type):
            raise V2Fail("SIGN ERROR" if bill else "签名错误")
        return merchant, sign_type

    async def handle(self, request: Request, op: V2Op, *, bill: bool = False) -> Response:
        if request.method != "POST":
            return v2_fail_response("请使用post方法")
        try:
            body = await read_body(request)
        except BodyTooLarge:
            return v2_fail_response("请求报文过大", status=413)
        if not body.strip():
            return v2_fail_response("post数据为空")
        try:
            fields = parse_xml(body)
            merchant, sign_type = self._authenticate(fields, bill=bill)
        except XmlFormatError as exc:
            return v2_fail_response("编码格式错误" if exc.not_utf8 else "XML格式错误")
        except V2Fail as exc:
            return v2_fail_response(exc.return_msg)
        call = V2Call(merchant, fields, sign_type, request)

        async def process() -> Response:
            self.emu.tick()
            try:
                if fields.get("appid") and fields["appid"] != merchant.appid:
                    raise V2BizError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
                result = op(call)
            except V2Fail as exc:
                return v2_fail_response(exc.return_msg, extra=exc.extra)
            except V2BizError as exc:
                return self.signed(call, {}, error=(exc.err_code, exc.err_code_des))
            except BusinessError as exc:
                code, text = _KINDS.get(exc.kind, ("INVALID_REQUEST", None))
                return self.signed(call, {}, error=(code, text or exc.message))
            finally:
                self.emu.touch()
            if isinstance(result, Response):
                return result
            return self.signed(call, result)

        def fault(kind: str) -> Response:
            if kind == "system_error":
                return self.signed(
                    call, {}, error=("SYSTEMERROR", "系统超时，请用相同参数重新调用")
                )
            status = 500 if kind == "http_500" else 503
            page = f"<html><head><title>{status}</title></head><body>{status}</body></html>"
            return Response(page, status_code=status, media_type="text/html")

        plan = self.emu.faults.plan_api(merchant.mchid, route_path(request))
        return await run_api(plan, process, fault)

    def signed(
        self, call: V2Call, result: dict[str, str], *, error: tuple[str, str] | None = None
    ) -> Response:
        """A business answer, signed with the request's sign_type (no ``sign_type`` field)."""
        fields = {
            "return_code": "SUCCESS",
            "return_msg": "OK",
            "appid": call.merchant.appid,
            "mch_id": call.merchant.mchid,
            "nonce_str": secrets.token_hex(16),
            "result_code": "FAIL" if error else "SUCCESS",
        }
        if error:
            fields["err_code"], fields["err_code_des"] = error
        fields.update(result)
        fields = {k: v for k, v in fields.items() if v != ""}
        fields["sign"] = v2_sign(fields, call.merchant.api_v2_key, call.sign_type)
        return Response(build_xml(fields), media_type=XML_TYPE)

    # -- unifiedorder and refund (the two that create things) ------------------------------

    def unifiedorder(self, call: V2Call) -> V2Result:
        f = call.fields
        call.require("appid", "nonce_str", "body", "out_trade_no", "total_fee")
        call.require("spbill_create_ip", "notify_url", "trade_type")
        if f["trade_type"] != "JSAPI":
            raise V2BizError("INVALID_REQUEST", "模拟器仅支持trade_type=JSAPI（小程序/公众号支付）")
        call.require("openid")
        if len(f["nonce_str"]) > 32:
            raise V2BizError("INVALID_REQUEST", "nonce_str参数长度有误")
        if len(f["body"]) > 127 or has_4byte_chars(f["body"]):
            raise V2BizError("INVALID_REQUEST", "body参数长度有误或包含不支持的字符")
        if len(f.get("attach", "")) > 127:
            raise V2BizError("INVALID_REQUEST", "attach参数长度有误")
        if not OUT_TRADE_NO.fullmatch(f["out_trade_no"]):
            raise V2BizError("INVALID_REQUEST", "out_trade_no参数格式错误")
        if not f["total_fee"].isdigit() or int(f["total_fee"]) <= 0:
            raise V2BizError("INVALID_REQUEST", "total_fee参数格式错误，应为大于0的整数（单位分）")
        if f.get("fee_type", "CNY") != "CNY":
            raise V2BizError("INVALID_REQUEST", "fee_type参数错误，境内商户仅支持CNY")
        url = f["notify_url"]
        if not url.startswith(("http://", "https://")) or "?" in url or len(url) > 256:
            raise V2BizError("INVALID_REQUEST", "notify_url参数格式错误，不能携带参数")
        time_expire = None
        if f.get("time_expire"):
            try:
                time_expire = parse_compact(f["time_expire"])
            except ValueError:
                raise V2BizError("INVALID_REQUEST", "time_expire参数格式错误") from None
            if time_expire - self.emu.clock.now() < 300:
                raise V2BizError("INVALID_REQUEST", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
        same = ("body", "total_fee", "openid", "attach", "notify_url", "fee_type", "detail")
        request = OrderRequest(
            appid=f["appid"],
            out_trade_no=f["out_trade_no"],
            description=f["body"],
            total=int(f["total_fee"]),
            currency="CNY",
            openid=f["openid"],
            notify_url=url,
            attach=f.get("attach", ""),
            time_expire=time_expire,
            fingerprint=json.dumps({k: f.get(k, "") for k in same}, sort_keys=True),
            device_info=f.get("device_info", ""),
        )
        _, prepay_id = self.emu.payments.prepay(
            call.merchant, request, api="v2", sign_type=call.sign_type
        )
        return {
            "device_info": f.get("device_info", ""),
            "trade_type": "JSAPI",
            "prepay_id": prepay_id,
        }

    def refund(self, call: V2Call) -> V2Result:
        f = call.fields
        call.require("appid", "nonce_str", "out_refund_no", "total_fee", "refund_fee")
        if not f.get("transaction_id") and not f.get("out_trade_no"):
            raise V2BizError("PARAM_ERROR", "transaction_id、out_trade_no至少填一个")
        if not OUT_REFUND_NO.fullmatch(f["out_refund_no"]):
            raise V2BizError("PARAM_ERROR", "out_refund_no参数格式错误")
        for name in ("total_fee", "refund_fee"):
            if not f[name].isdigit() or int(f[name]) <= 0:
                raise V2BizError("PARAM_ERROR", f"{name}参数格式错误")
        if f.get("refund_fee_type", "CNY") != "CNY":
            raise V2BizError("PARAM_ERROR", "refund_fee_type参数错误")
        request = RefundRequest(
            out_refund_no=f["out_refund_no"],
            refund=int(f["refund_fee"]),
            total=int(f["total_fee"]),
            fingerprint=f"{f['refund_fee']}/{f['total_fee']}",
            out_trade_no=f.get("out_trade_no") or None,
            transaction_id=f.get("transaction_id") or None,
            reason=f.get("refund_desc", ""),
            notify_url=f.get("notify_url") or None,
        )
        refund = self.emu.payments.refund(call.merchant, request, api="v2")
        return {
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "refund_id": refund.refund_id,
            "refund_fee": str(refund.refund),
            "settlement_refund_fee": str(refund.refund),
            "total_fee": str(refund.total),
            "settlement_total_fee": str(refund.total),
            "fee_type": "CNY",
            "cash_fee": str(refund.total),
            "cash_fee_type": "CNY",
            "cash_refund_fee": str(refund.refund),
            "coupon_refund_fee": "0",
            "coupon_refund_count": "0",
        }
