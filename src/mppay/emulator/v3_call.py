"""One authenticated v3 call and how v3 answers: signed bodies, errors, business-code mapping."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import ids
from .auth import signature_headers
from .errors import BusinessError, V3Error
from .messages import dumps
from .rules import param_error
from .state import Merchant

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = [
    "Op",
    "Result",
    "V3Call",
    "body_error",
    "query_error",
    "signed",
    "to_v3",
    "v3_error_response",
]

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
    "NOT_ENOUGH": (403, "NOT_ENOUGH"),
}


def to_v3(exc: BusinessError, overrides: dict[str, tuple[int, str]] | None = None) -> V3Error:
    status, code = (overrides or {}).get(exc.kind) or _KINDS.get(exc.kind, (400, "INVALID_REQUEST"))
    return V3Error(status, code, exc.message)


def v3_error_response(
    error: V3Error,
    merchant: Merchant | None,
    request: Request,
    wall_clock: Callable[[], float] = time.time,
) -> Response:
    """A v3 error body; signed when the merchant is known (harmless, and WeChat's own habit)."""
    return signed(merchant, request, error.status, dumps(error.body()), wall_clock)


def signed(
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


def body_error(pointer: str, label: str, rule: str, value: Any = "") -> V3Error:
    return param_error("body", pointer, label, rule, rule.split("，")[0], value)


def query_error(name: str, label: str, rule: str, value: str) -> V3Error:
    return V3Error(
        400,
        "PARAM_ERROR",
        f"输入源“/query/{name}”映射到字段“{label}”{rule}",
        {"field": name, "value": value, "issue": rule, "location": "query"},
    )
