"""HTTP for shipping information: WeChat's paths on ``api.weixin.qq.com`` and sandbox controls.

WeChat's side: ``POST /cgi-bin/stable_token``, ``POST /wxa/sec/order/...`` and
``POST /cgi-bin/express/delivery/open_msg/get_delivery_list``; always HTTP 200 with an
``errcode`` (JSON with a text/plain content type, like the login path), faults from
``/sandbox/faults`` when their ``api_fault_paths`` cover the path (e.g. ``["/wxa/"]``).

Sandbox side: ``GET|PUT /sandbox/merchants/{mchid}/shipping`` (trade_managed and the
message-push configuration), ``GET|PUT /sandbox/shipping/settings`` (delays, in business
time), ``GET /sandbox/shipping/{transaction_id}``, ``POST /sandbox/shipping/{transaction_id}/confirm``
(the buyer's 确认收货) and ``POST /sandbox/access_tokens/revoke`` (what another instance's
``force_refresh`` does to our tokens).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .errors import BodyTooLarge
from .faults import run_api
from .login import wechat_error
from .shipping import ShippingFailure
from .shipping_state import ShippingSettings
from .state import Merchant
from .wire import json_response, read_body, route_path

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["configure_shipping", "shipping_routes"]

_DELIVERY_COMPANIES = [
    ("SF", "顺丰速运"),
    ("YTO", "圆通速递"),
    ("ZTO", "中通快递"),
    ("STO", "申通快递"),
    ("YD", "韵达快递"),
    ("EMS", "中国邮政速递物流"),
    ("JD", "京东物流"),
    ("DBL", "德邦快递"),
]
_PUSH_FIELDS = ("push_url", "push_token", "push_aes_key", "push_mode", "push_format")

Handler = Callable[["Emulator", Merchant, dict[str, Any]], dict[str, Any]]


def _wechat(answer: dict[str, Any]) -> Response:
    # api.weixin.qq.com answers JSON with a text/plain content type.
    return json_response(answer, headers={"Content-Type": "text/plain"})


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        raw = await read_body(request)
        parsed = json.loads(raw) if raw.strip() else None
    except (BodyTooLarge, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _shipping_config(merchant: Merchant) -> dict[str, Any]:
    return {
        "mchid": merchant.mchid,
        "appid": merchant.appid,
        "trade_managed": merchant.trade_managed,
        **{name: getattr(merchant, name) for name in _PUSH_FIELDS},
    }


def _sandbox_error(status: int, message: str, code: str = "INVALID_REQUEST") -> Response:
    return json_response({"code": code, "message": message}, status)


def shipping_routes(emu: Emulator) -> list[Route]:
    shipping = emu.shipping

    def api(path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            emu.tick()
            try:
                merchant = shipping.tokens.merchant_for_token(
                    request.query_params.get("access_token")
                )
            except ShippingFailure as failure:
                return _wechat(failure.answer())
            plan = emu.faults.plan_api(merchant.mchid, route_path(request))

            async def process() -> Response:
                body = await _body(request)
                if body is None:
                    return _wechat(wechat_error(47001, "data format error"))
                try:
                    answer = handler(emu, merchant, body)
                except ShippingFailure as failure:
                    return _wechat(failure.answer())
                emu.touch()
                return _wechat({"errcode": 0, "errmsg": "ok", **answer})

            def fault(kind: str) -> Response:
                if kind == "system_error":
                    return _wechat(wechat_error(-1, "system error"))
                status = 500 if kind == "http_500" else 503
                return PlainTextResponse(f"{status}", status_code=status)

            return await run_api(plan, process, fault)

        return Route(path, endpoint, methods=["POST"])

    async def stable_token(request: Request) -> Response:
        emu.tick()
        body = await _body(request)
        if body is None:
            return _wechat(wechat_error(47001, "data format error"))
        try:
            answer = shipping.tokens.stable_token(body)
        except ShippingFailure as failure:
            return _wechat(failure.answer())
        emu.touch()
        return _wechat(answer)

    def upload(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        shipping.upload(merchant, body)
        return {}

    def combined(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        shipping.upload_combined(merchant, body)
        return {}

    def notify_confirm(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        shipping.confirm_receive_notice(merchant, body)
        return {}

    def jump_path(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body.get("path"), str):
            raise ShippingFailure(47001, "data format error")
        return {}

    def managed(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        return {"is_trade_managed": merchant.trade_managed}

    def completed(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        return {"completed": merchant.trade_managed}

    def delivery_list(emu: Emulator, merchant: Merchant, body: dict[str, Any]) -> dict[str, Any]:
        rows = [{"delivery_id": i, "delivery_name": n} for i, n in _DELIVERY_COMPANIES]
        return {"delivery_list": rows, "count": len(rows)}

    async def merchant_config(request: Request) -> Response:
        merchant = emu.state.merchants.get(request.path_params["mchid"])
        if merchant is None:
            return _sandbox_error(404, "no such merchant", "NOT_FOUND")
        if request.method == "PUT":
            body = await _body(request)
            if body is None:
                return _sandbox_error(400, "a JSON object body is required")
            problem = _configure(merchant, body)
            if problem:
                return _sandbox_error(400, problem)
            emu.touch()
        return json_response(_shipping_config(merchant))

    async def settings(request: Request) -> Response:
        current = emu.state.shipping_settings
        if request.method == "PUT":
            body = await _body(request)
            if body is None:
                return _sandbox_error(400, "a JSON object body is required")
            known = {f.name for f in fields(ShippingSettings)}
            unknown = sorted(set(body) - known)
            if unknown:
                return _sandbox_error(400, f"unknown settings: {', '.join(unknown)}")
            for name, value in body.items():
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    return _sandbox_error(400, f"{name} must be a non-negative number")
            merged = {**asdict(current), **body}
            merged["token_lifetime_seconds"] = int(merged["token_lifetime_seconds"])
            emu.state.shipping_settings = ShippingSettings(**merged)
            emu.touch()
        return json_response(asdict(emu.state.shipping_settings))

    async def show(request: Request) -> Response:
        emu.tick()
        try:
            order, _ = shipping.find(request.path_params["transaction_id"])
        except LookupError as exc:
            return _sandbox_error(404, str(exc), "NOT_FOUND")
        return json_response(shipping.order_json(order))

    async def confirm(request: Request) -> Response:
        emu.tick()
        tid = request.path_params["transaction_id"]
        try:
            shipping.confirm(tid)
            order, _ = shipping.find(tid)
        except LookupError as exc:
            return _sandbox_error(404, str(exc), "NOT_FOUND")
        except ValueError as exc:
            return _sandbox_error(409, str(exc), "NOT_SHIPPED")
        emu.touch()
        emu.kick()
        return json_response(shipping.order_json(order))

    async def revoke(request: Request) -> Response:
        body = await _body(request)
        appid = body.get("appid") if body else None
        if not isinstance(appid, str) or emu.state.merchant_by_appid(appid) is None:
            return _sandbox_error(400, "appid must name a sandbox merchant")
        count = shipping.tokens.revoke_tokens(appid)
        emu.touch()
        return json_response({"revoked": count})

    order = "/wxa/sec/order"
    routes: list[tuple[str, Handler]] = [
        (f"{order}/upload_shipping_info", upload),
        (f"{order}/upload_combined_shipping_info", combined),
        (f"{order}/get_order", lambda e, m, b: shipping.get_order(m, b)),
        (f"{order}/get_order_list", lambda e, m, b: shipping.get_order_list(m, b)),
        (f"{order}/notify_confirm_receive", notify_confirm),
        (f"{order}/set_msg_jump_path", jump_path),
        (f"{order}/is_trade_managed", managed),
        (f"{order}/is_trade_management_confirmation_completed", completed),
        ("/cgi-bin/express/delivery/open_msg/get_delivery_list", delivery_list),
    ]
    sandbox: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/sandbox/merchants/{mchid}/shipping", merchant_config, ["GET", "PUT"]),
        ("/sandbox/shipping/settings", settings, ["GET", "PUT"]),
        ("/sandbox/shipping/{transaction_id}", show, ["GET"]),
        ("/sandbox/shipping/{transaction_id}/confirm", confirm, ["POST"]),
        ("/sandbox/access_tokens/revoke", revoke, ["POST"]),
    ]
    return [
        Route("/cgi-bin/stable_token", stable_token, methods=["POST"]),
        *(api(path, handler) for path, handler in routes),
        *(Route(path, endpoint, methods=methods) for path, endpoint, methods in sandbox),
    ]


def configure_shipping(emu: Emulator, mchid: str, body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /sandbox/merchants/{mchid}/shipping`` in-process; ValueError / LookupError."""
    merchant = emu.state.merchants.get(mchid)
    if merchant is None:
        raise LookupError(f"no merchant {mchid}")
    problem = _configure(merchant, body)
    if problem:
        raise ValueError(problem)
    emu.touch()
    return _shipping_config(merchant)


def _configure(merchant: Merchant, body: dict[str, Any]) -> str | None:
    """Apply a shipping configuration; the problem as text when a field is unusable."""
    unknown = sorted(set(body) - {"trade_managed", *_PUSH_FIELDS})
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    if "trade_managed" in body and not isinstance(body["trade_managed"], bool):
        return "trade_managed must be true or false"
    for name in _PUSH_FIELDS:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            return f"{name} must be a string or null"
    if body.get("push_mode", "safe") not in ("safe", "plain"):
        return "push_mode must be safe or plain"
    if body.get("push_format", "json") not in ("json", "xml"):
        return "push_format must be json or xml"
    key = body.get("push_aes_key")
    if key is not None:
        try:
            raw = base64.b64decode(key + "=", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(key) != 43 or len(raw) != 32:
            return "push_aes_key must be a 43-character EncodingAESKey"
    for name, value in body.items():
        if value is not None or name in ("push_url", "push_token", "push_aes_key"):
            setattr(merchant, name, value)
    return None
