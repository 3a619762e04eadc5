"""API v3 endpoints: JSAPI prepay, query, close, refund, refund query, certificates, bills.

Every request: body read once (413 past 1 MiB) -> ``Authorization`` verified over the raw bytes
(401/400) -> fault plan -> the operation -> a signed answer. Every answer of a known merchant is
signed (``Request-ID``, ``Wechatpay-Timestamp``/``Nonce``/``Serial``/``Signature``/
``Signature-Type``), 2xx and errors alike, except the bill file itself, which WeChat does not
sign (§2.3). The 204 of close is signed over the empty body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import authenticate
from .clock import parse_rfc3339
from .errors import BodyTooLarge, BusinessError, V3Error
from .faults import run_api
from .messages import dumps, refund_json, transaction_json
from .payments import OrderRequest, RefundRequest
from .rules import JSAPI_FIELDS, OUT_TRADE_NO, REFUND_FIELDS, TRANSACTION_ID, Field, check_fields
from .v3_call import Op, Result, V3Call, body_error, signed, to_v3, v3_error_response
from .v3_reports import V3Reports
from .wire import canonical_urls, read_body, route_path

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["V3Api", "v3_error_response"]


class V3Api:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.reports = V3Reports(emulator)

    def routes(self) -> list[Route]:
        def route(path: str, op: Op, method: str) -> Route:
            async def endpoint(request: Request) -> Response:
                return await self.handle(request, op)

            return Route(path, endpoint, methods=[method])

        return [
            route("/v3/pay/transactions/jsapi", self.jsapi, "POST"),
            route("/v3/pay/transactions/out-trade-no/{out_trade_no}", self.query_order, "GET"),
            route("/v3/pay/transactions/id/{transaction_id}", self.query_by_id, "GET"),
            route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", self.close, "POST"),
            route("/v3/refund/domestic/refunds", self.refund, "POST"),
            route("/v3/refund/domestic/refunds/{out_refund_no}", self.query_refund, "GET"),
            route("/v3/certificates", self.reports.certificates, "GET"),
            route("/v3/bill/tradebill", self.reports.tradebill, "GET"),
            route("/v3/billdownload/file", self.reports.download, "GET"),
        ]

    async def handle(self, request: Request, op: Op) -> Response:
        try:
            body = await read_body(request)
        except BodyTooLarge:
            return v3_error_response(V3Error(413, "PARAM_ERROR", "请求报文过大"), None, request)
        wall = self.emu.wall_clock
        try:
            merchant = authenticate(
                self.emu.state,
                method=request.method,
                urls=canonical_urls(request),
                headers=request.headers,
                body=body,
                wall_now=self.emu.wall_clock(),
            )
        except V3Error as exc:
            return v3_error_response(exc, None, request)
        call = V3Call(merchant, request, body, self.emu)

        async def process() -> Response:
            self.emu.tick()
            try:
                result = op(call)
            except V3Error as exc:
                return v3_error_response(exc, merchant, request, wall)
            except BusinessError as exc:
                return v3_error_response(to_v3(exc), merchant, request, wall)
            finally:
                if request.method != "GET":  # reads change nothing worth saving
                    self.emu.touch()
            if isinstance(result, Response):
                return result
            status, payload = result
            body_out = b"" if payload is None else dumps(payload)
            return signed(merchant, request, status, body_out, wall)

        def fault(kind: str) -> Response:
            if kind == "http_500":
                page = "<html><head><title>500 Internal Server Error</title></head><body>500</body></html>"
                return Response(page, status_code=500, media_type="text/html")
            if kind == "http_503":
                error = V3Error(503, "SERVICE_UNAVAILABLE", "服务不可用，请稍后重试")
            else:
                error = V3Error(500, "SYSTEM_ERROR", "系统错误")
            return v3_error_response(error, merchant, request, wall)

        plan = self.emu.faults.plan_api(merchant.mchid, route_path(request))
        return await run_api(plan, process, fault)

    # -- orders ---------------------------------------------------------------------------

    def jsapi(self, call: V3Call) -> Result:
        body = call.json_object()
        check_fields(body, JSAPI_FIELDS)
        call.check_mchid(body["mchid"])
        currency = body["amount"].get("currency", "CNY")
        if currency != "CNY":
            raise body_error(
                "/amount/currency", "货币类型", "取值校验失败，境内商户仅支持CNY", currency
            )
        time_expire = None
        if "time_expire" in body:
            try:
                time_expire = parse_rfc3339(body["time_expire"])
            except ValueError:
                raise body_error(
                    "/time_expire",
                    "交易结束时间",
                    "格式校验失败，应为RFC3339格式",
                    body["time_expire"],
                ) from None
        same = {k: v for k, v in body.items() if k != "time_expire"}
        request = OrderRequest(
            appid=body["appid"],
            out_trade_no=body["out_trade_no"],
            description=body["description"],
            total=body["amount"]["total"],
            currency=currency,
            openid=body["payer"]["openid"],
            notify_url=body["notify_url"],
            attach=body.get("attach", ""),
            time_expire=time_expire,
            fingerprint=json.dumps(same, sort_keys=True, ensure_ascii=False),
            device_info=str(body.get("scene_info", {}).get("device_id", "")),
        )
        _, prepay_id = self.emu.payments.prepay(call.merchant, request, api="v3", sign_type="RSA")
        return 200, {"prepay_id": prepay_id}

    def query_order(self, call: V3Call) -> Result:
        call.check_mchid(call.query("mchid", "直连商户号"))
        out_trade_no = call.request.path_params["out_trade_no"]
        if not OUT_TRADE_NO.fullmatch(out_trade_no):
            raise V3Error(404, "ORDER_NOT_EXIST", "订单不存在")
        order = self.emu.payments.get_order(call.merchant.mchid, out_trade_no=out_trade_no)
        return 200, transaction_json(order, for_query=True)

    def query_by_id(self, call: V3Call) -> Result:
        call.check_mchid(call.query("mchid", "直连商户号"))
        transaction_id = call.request.path_params["transaction_id"]
        if not TRANSACTION_ID.fullmatch(transaction_id):
            raise V3Error(
                400,
                "PARAM_ERROR",
                "输入源“/path/transaction_id”映射到字段“微信支付订单号”格式校验失败",
                {"field": "transaction_id", "value": transaction_id, "location": "path"},
            )
        order = self.emu.payments.get_order(call.merchant.mchid, transaction_id=transaction_id)
        return 200, transaction_json(order, for_query=True)

    def close(self, call: V3Call) -> Result:
        body = call.json_object()
        check_fields(body, (Field("/mchid", "直连商户号", required=True, max_len=32),))
        call.check_mchid(body["mchid"])
        try:
            self.emu.payments.close(call.merchant.mchid, call.request.path_params["out_trade_no"])
        except BusinessError as exc:
            if exc.kind == "ORDER_NOT_FOUND":
                return 204, None  # observed: WeChat answers 204 for an unknown order (§2.8)
            raise to_v3(exc, {"ORDER_PAID": (400, "INVALID_REQUEST")}) from None
        return 204, None

    # -- refunds --------------------------------------------------------------------------

    def refund(self, call: V3Call) -> Result:
        body = call.json_object()
        check_fields(body, REFUND_FIELDS)
        if not body.get("transaction_id") and not body.get("out_trade_no"):
            raise body_error(
                "/out_trade_no",
                "商户订单号",
                "必填性规则校验失败，transaction_id与out_trade_no必须二选一",
            )
        amount = body["amount"]
        if amount["currency"] != "CNY":
            raise body_error(
                "/amount/currency",
                "退款币种",
                "取值校验失败，境内商户仅支持CNY",
                amount["currency"],
            )
        request = RefundRequest(
            out_refund_no=body["out_refund_no"],
            refund=amount["refund"],
            total=amount["total"],
            fingerprint=f"{amount['refund']}/{amount['total']}",
            out_trade_no=body.get("out_trade_no") or None,
            transaction_id=body.get("transaction_id") or None,
            reason=body.get("reason", ""),
            notify_url=body.get("notify_url") or None,
        )
        try:
            refund = self.emu.payments.refund(call.merchant, request, api="v3")
        except BusinessError as exc:
            # The refund API names a missing order like any missing resource (§2.9).
            raise to_v3(exc, {"ORDER_NOT_FOUND": (404, "RESOURCE_NOT_EXISTS")}) from None
        return 200, refund_json(refund)

    def query_refund(self, call: V3Call) -> Result:
        out_refund_no = call.request.path_params["out_refund_no"]
        refund = self.emu.payments.get_refund(call.merchant.mchid, out_refund_no)
        return 200, refund_json(refund)
