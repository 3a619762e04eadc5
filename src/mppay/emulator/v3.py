"""API v3 endpoints: JSAPI prepay, query, close, refund, refund query, certificates, bills.

Every request: body read once (413 past 1 MiB) -> ``Authorization`` verified over the raw bytes
(401/400) -> fault plan -> the operation -> a signed answer. Every answer of a known merchant is
signed (``Request-ID``, ``Wechatpay-Timestamp``/``Nonce``/``Serial``/``Signature``/
``Signature-Type``), 2xx and errors alike, except the bill file itself, which WeChat does not
sign (§2.3). The 204 of close is signed over the empty body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import ids
from .auth import authenticate, signature_headers
from .bills import BILL_TYPES, build_bill, compress
from .clock import beijing_date, format_rfc3339, parse_rfc3339
from .crypto import aes_gcm_encrypt, sha1_hex
from .errors import BodyTooLarge, BusinessError, V3Error
from .faults import run_api
from .messages import dumps, refund_json, transaction_json
from .payments import OrderRequest, RefundRequest
from .rules import (
    JSAPI_FIELDS,
    OUT_TRADE_NO,
    REFUND_FIELDS,
    TRANSACTION_ID,
    Field,
    check_fields,
    param_error,
)
from .state import Merchant
from .wire import base_url, canonical_urls, read_body, route_path

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["V3Api", "v3_error_response"]

_KINDS: dict[str, tuple[int, str]] = {
    "APPID_MISMATCH": (400, "APPID_MCHID_NOT_MATCH"),
    "OPENID_MISMATCH": (400, "PARAM_ERROR"),
    "OUT_TRADE_NO_CONFLICT": (400, "INVALID_REQUEST"),
    "ORDER_PAID": (403, "OUT_TRADE_NO_USED"),
    "ORDER_CLOSED": (400, "ORDER_CLOSED"),
    "ORDER_NOT_FOUND": (404, "ORDER_NOT_EXIST"),
    "ORDER_UNPAID": (404, "RESOURCE_NOT_EXISTS"),
    "REFUND_NOT_FOUND": (404, "RESOURCE_NOT_EXISTS"),
    "REFUND_CONFLICT": (400, "INVALID_REQUEST"),
    "REFUND_TOTAL_MISMATCH": (400, "INVALID_REQUEST"),
    "REFUND_EXCEEDS": (400, "INVALID_REQUEST"),
    "REFUND_FULL": (400, "INVALID_REQUEST"),
    "REFUND_LIMIT": (400, "INVALID_REQUEST"),
    "TRADE_OVERDUE": (400, "INVALID_REQUEST"),
}
MSG_PUBLIC_KEY_ONLY = (
    "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。"
    "可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide.html"
)
BILL_HISTORY_DAYS = 92


def _to_v3(exc: BusinessError, overrides: dict[str, tuple[int, str]] | None = None) -> V3Error:
    status, code = (overrides or {}).get(exc.kind) or _KINDS.get(exc.kind, (400, "INVALID_REQUEST"))
    return V3Error(status, code, exc.message)


def v3_error_response(
    error: V3Error,
    merchant: Merchant | None,
    request: Request,
    wall_clock: Callable[[], float] = time.time,
) -> Response:
    """A v3 error body; signed when the merchant is known (harmless, and WeChat's own habit)."""
    return _signed(merchant, request, error.status, dumps(error.body()), wall_clock)


def _signed(
    merchant: Merchant | None,
    request: Request,
    status: int,
    body: bytes,
    wall_clock: Callable[[], float],
) -> Response:
    headers = {"Request-ID": ids.request_id()}
    if merchant is not None:
        key, serial = merchant.signer(request.headers.get("wechatpay-serial"))
        timestamp = str(int(wall_clock()))
        headers.update(signature_headers(key, serial, body, timestamp=timestamp))
    # Content-Type even on 204: some clients (wechatpayv3) read it on every answer.
    headers["Content-Type"] = "application/json; charset=utf-8"
    return Response(body, status_code=status, headers=headers)


@dataclass
class V3Call:
    merchant: Merchant
    request: Request
    body: bytes
    emulator: Emulator

    def json_object(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise V3Error(
                400,
                "PARAM_ERROR",
                "请求体不是合法的JSON格式",
                {"location": "body", "issue": f"{type(exc).__name__}: {exc}"[:200]},
            ) from exc
        if not isinstance(parsed, dict):
            raise V3Error(
                400,
                "PARAM_ERROR",
                "请求体应为JSON对象",
                {"location": "body", "issue": "not an object"},
            )
        return parsed

    def query(self, name: str, label: str, *, required: bool = True) -> str:
        value = self.request.query_params.get(name, "")
        if required and not value:
            raise V3Error(
                400,
                "PARAM_ERROR",
                f"输入源“/query/{name}”映射到字段“{label}”必填性规则校验失败，此字段为必填项",
                {"field": name, "value": "", "issue": "required", "location": "query"},
            )
        return value

    def check_mchid(self, mchid: str) -> None:
        """The merchant in the body/query must be the one that signed (open question §8.7)."""
        if mchid == self.merchant.mchid:
            return
        if mchid not in self.emulator.state.merchants:
            raise V3Error(400, "MCH_NOT_EXISTS", "商户号不存在")
        raise V3Error(403, "NO_AUTH", "请求中的商户号与签名商户号不一致，无权限")


Result = tuple[int, Any] | Response
Op = Callable[[V3Call], Result]


class V3Api:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

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
            route("/v3/certificates", self.certificates, "GET"),
            route("/v3/bill/tradebill", self.tradebill, "GET"),
            route("/v3/billdownload/file", self.download, "GET"),
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
                return v3_error_response(_to_v3(exc), merchant, request, wall)
            finally:
                self.emu.touch()
            if isinstance(result, Response):
                return result
            status, payload = result
            body_out = b"" if payload is None else dumps(payload)
            return _signed(merchant, request, status, body_out, wall)

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
            raise _param(
                "/amount/currency", "货币类型", "取值校验失败，境内商户仅支持CNY", currency
            )
        time_expire = None
        if "time_expire" in body:
            try:
                time_expire = parse_rfc3339(body["time_expire"])
            except ValueError:
                raise _param(
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
            raise _to_v3(exc, {"ORDER_PAID": (400, "INVALID_REQUEST")}) from None
        return 204, None

    # -- refunds --------------------------------------------------------------------------

    def refund(self, call: V3Call) -> Result:
        body = call.json_object()
        check_fields(body, REFUND_FIELDS)
        if not body.get("transaction_id") and not body.get("out_trade_no"):
            raise _param(
                "/out_trade_no",
                "商户订单号",
                "必填性规则校验失败，transaction_id与out_trade_no必须二选一",
            )
        amount = body["amount"]
        if amount["currency"] != "CNY":
            raise _param(
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
            raise _to_v3(exc, {"ORDER_NOT_FOUND": (404, "RESOURCE_NOT_EXISTS")}) from None
        return 200, refund_json(refund)

    def query_refund(self, call: V3Call) -> Result:
        out_refund_no = call.request.path_params["out_refund_no"]
        refund = self.emu.payments.get_refund(call.merchant.mchid, out_refund_no)
        return 200, refund_json(refund)

    # -- certificates and bills -----------------------------------------------------------

    def certificates(self, call: V3Call) -> Result:
        merchant = call.merchant
        if merchant.key_mode == "public_key" or merchant.platform_certificate_pem is None:
            raise V3Error(404, "RESOURCE_NOT_EXISTS", MSG_PUBLIC_KEY_ONLY)
        nonce = ids.alnum(12)
        ciphertext = aes_gcm_encrypt(
            merchant.api_v3_key, nonce, "certificate", merchant.platform_certificate_pem.encode()
        )
        return 200, {
            "data": [
                {
                    "serial_no": merchant.platform_serial_no,
                    "effective_time": format_rfc3339(merchant.platform_effective_at or 0),
                    "expire_time": format_rfc3339(merchant.platform_expire_at or 0),
                    "encrypt_certificate": {
                        "algorithm": "AEAD_AES_256_GCM",
                        "nonce": nonce,
                        "associated_data": "certificate",
                        "ciphertext": ciphertext,
                    },
                }
            ]
        }

    def tradebill(self, call: V3Call) -> Result:
        raw_date = call.query("bill_date", "账单日期")
        bill_type = call.query("bill_type", "账单类型", required=False) or "ALL"
        tar_type = call.query("tar_type", "压缩类型", required=False)
        try:
            day = datetime.strptime(raw_date, "%Y-%m-%d").date()
        except ValueError:
            raise _query_error(
                "bill_date", "账单日期", "格式校验失败，应为yyyy-MM-DD", raw_date
            ) from None
        if bill_type not in BILL_TYPES:
            raise _query_error("bill_type", "账单类型", "取值校验失败", bill_type)
        if tar_type not in ("", "GZIP"):
            raise _query_error("tar_type", "压缩类型", "取值校验失败", tar_type)
        data = self._bill_for(call.merchant, day, bill_type)
        token = self.emu.bill_tokens.issue(
            call.merchant.mchid,
            compress(data) if tar_type == "GZIP" else data,
            gzipped=tar_type == "GZIP",
            now=self.emu.clock.now(),
        )
        url = (
            base_url(call.request, self.emu.public_base_url)
            + "/v3/billdownload/file?token="
            + token
        )
        return 200, {"hash_type": "SHA1", "hash_value": sha1_hex(data), "download_url": url}

    def _bill_for(self, merchant: Merchant, day: date, bill_type: str) -> bytes:
        today = beijing_date(self.emu.clock.now())
        if day >= today:
            raise V3Error(400, "INVALID_REQUEST", "账单日期不能是当日或未来日期，当日账单次日生成")
        if day < today - timedelta(days=BILL_HISTORY_DAYS):
            raise V3Error(400, "INVALID_REQUEST", "只能下载三个月以内的账单")
        data = build_bill(self.emu.state, merchant, day, bill_type)
        if data is None:
            raise V3Error(400, "NO_STATEMENT_EXIST", "该日期无账单，请确认账单日期")
        return data

    def download(self, call: V3Call) -> Result:
        token = call.request.query_params.get("token", "")
        found = self.emu.bill_tokens.get(token, call.merchant.mchid, self.emu.clock.now())
        if found is None:
            raise V3Error(400, "INVALID_REQUEST", "下载链接已失效或不属于该商户，请重新获取")
        return Response(
            found.data,
            headers={"Request-ID": ids.request_id()},
            media_type="application/octet-stream",
        )


def _param(pointer: str, label: str, rule: str, value: Any = "") -> V3Error:
    return param_error("body", pointer, label, rule, rule.split("，")[0], value)


def _query_error(name: str, label: str, rule: str, value: str) -> V3Error:
    return V3Error(
        400,
        "PARAM_ERROR",
        f"输入源“/query/{name}”映射到字段“{label}”{rule}",
        {"field": name, "value": value, "issue": rule, "location": "query"},
    )
