"""The WeChat client's side of ``wx.requestPayment`` (§3) and the sandbox cashier page.

``request_payment`` checks what the WeChat app checks before it shows the payment sheet, in
this order: parameter types (every value must be a String), the package and its prepay id
(known, unexpired, issued for this appId), the signType of the order's scheme, the paySign
(v3: RSA over ``appId\\ntimeStamp\\nnonceStr\\npackage\\n`` with the merchant's key; v2:
MD5/HMAC-SHA256 over appId, nonceStr, package, signType, timeStamp with the APIv2 key), the
order's state, and the payer (the openid paying must be the one the order was made for). Then
the user's ``action``: confirm (pay), cancel, or fail.
"""

from __future__ import annotations

import hmac
import html
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from .bills import yuan
from .crypto import rsa_verify, v2_sign

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["ACTIONS", "Cashier", "render_cashier"]

ACTIONS = ("confirm", "cancel", "fail")
WX_PARAMS = ("timeStamp", "nonceStr", "package", "signType", "paySign")

FAIL_SIGN = "requestPayment:fail 支付验证签名失败"
FAIL_PREPAY = "requestPayment:fail prepay_id参数错误"
FAIL_EXPIRED = "requestPayment:fail prepay_id已失效，请重新下单"
FAIL_APPID = "requestPayment:fail appid与prepay_id不匹配"
FAIL_PAID = "requestPayment:fail 该订单已支付"
FAIL_CLOSED = "requestPayment:fail 该订单已关闭"
FAIL_PAYER = "requestPayment:fail 下单账号与支付账号不一致，请核实后再支付"
FAIL_USER = "requestPayment:fail 支付失败"
CANCEL = "requestPayment:fail cancel"
OK = "requestPayment:ok"


def js_type(params: dict[str, Any], name: str) -> str:
    """The JavaScript type name WeChat's parameter check reports for one argument."""
    if name not in params:
        return "Undefined"
    value = params[name]
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "String"


def type_errors(params: dict[str, Any], names: tuple[str, ...]) -> str:
    return "".join(
        f"parameter.{name} should be String instead of {js_type(params, name)};"
        for name in names
        if js_type(params, name) != "String"
    )


class Cashier:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def request_payment(self, params: dict[str, Any]) -> dict[str, str]:
        """``{"errMsg": ...}`` exactly as the Mini Program callback would receive it.

        ``params``: the ``wx.requestPayment`` arguments plus ``appId``, ``openid`` and
        ``action`` (confirm | cancel | fail; default confirm). ValueError on a bad action.
        """
        action = params.get("action", "confirm")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        refusal = self.check(params)
        if refusal is not None:
            return {"errMsg": refusal}
        found = self.emu.state.order_by_prepay(params["package"][len("prepay_id=") :])
        assert found is not None  # check() found it
        order, _ = found
        if action == "cancel":
            return {"errMsg": CANCEL}
        if action == "fail":
            return {"errMsg": FAIL_USER}
        self.emu.payments.pay(order)
        self.emu.touch()
        return {"errMsg": OK}

    def check(self, params: dict[str, Any]) -> str | None:
        """The refusal the WeChat client shows before its payment sheet, or None if payable.

        Checks parameter types, the prepay_id (known, unexpired, of this appId), the paySign,
        the order's state and the payer, in that order.
        """
        errors = type_errors(params, WX_PARAMS) + type_errors(params, ("appId", "openid"))
        if errors:
            return "requestPayment:fail parameter error: " + errors
        package: str = params["package"]
        if not package.startswith("prepay_id="):
            return FAIL_PREPAY
        found = self.emu.state.order_by_prepay(package[len("prepay_id=") :])
        if found is None:
            return FAIL_PREPAY
        order, prepay = found
        if prepay.expires_at <= self.emu.clock.now():
            return FAIL_EXPIRED
        if order.appid != params["appId"]:
            return FAIL_APPID
        merchant = self.emu.state.merchants[order.mchid]
        if params["signType"] != order.sign_type or not self._sign_ok(params, merchant, order.api):
            return FAIL_SIGN
        self.emu.payments.refresh(order)
        if order.trade_state in ("SUCCESS", "REFUND"):
            return FAIL_PAID
        if order.trade_state == "CLOSED":
            return FAIL_CLOSED
        if params["openid"] != order.openid:
            return FAIL_PAYER
        return None

    @staticmethod
    def _sign_ok(params: dict[str, Any], merchant: Any, api: str) -> bool:
        if api == "v3":
            message = (
                f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n"
                f"{params['package']}\n"
            ).encode()
            return rsa_verify(merchant.merchant_public_key(), message, params["paySign"])
        signed = {k: params[k] for k in ("appId", "nonceStr", "package", "signType", "timeStamp")}
        expected = v2_sign(signed, merchant.api_v2_key, params["signType"])
        return hmac.compare_digest(params["paySign"].upper().encode(), expected.encode())

    def info(self, package: str) -> dict[str, Any] | None:
        """What the payment sheet shows for a package, or None for an unknown prepay id."""
        found = self.emu.state.order_by_prepay(package.removeprefix("prepay_id="))
        if found is None:
            return None
        order, _ = found
        merchant = self.emu.state.merchants[order.mchid]
        return {
            "merchant_name": merchant.name,
            "description": order.description,
            "total": order.total,
            "amount_yuan": yuan(order.total),
            "trade_state": self.emu.payments.refresh(order).trade_state,
        }


def _script_json(value: Any) -> str:
    # Inside <script type="application/json">: "<" must never start a tag (XSS via "</script>").
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_cashier(params: dict[str, Any] | None, info: dict[str, Any] | None) -> str:
    """The cashier page; every value from the order or the URL is HTML-escaped."""
    template = resources.files(__package__).joinpath("cashier.html").read_text("utf-8")
    shown = info or {"merchant_name": "…", "description": "…", "amount_yuan": "…"}
    replacements = {
        "{{merchant}}": html.escape(str(shown["merchant_name"])),
        "{{description}}": html.escape(str(shown["description"])),
        "{{amount}}": html.escape(str(shown["amount_yuan"])),
        "{{boot}}": _script_json({"params": params, "info": info}),
    }
    # One pass, so a description containing "{{boot}}" stays text.
    return re.sub(r"\{\{\w+\}\}", lambda m: replacements.get(m.group(0), m.group(0)), template)
