"""Field rules of the v3 request bodies (§2.6, §2.9) and their PARAM_ERROR answers (§2.11).

A failing field is reported the way WeChat does: 400 ``PARAM_ERROR``, a message naming the
input source and the field (``输入源“/body/appid”映射到字段“应用ID”必填性规则校验失败，此字段为必填项``)
and a ``detail`` with ``field`` (JSON pointer), ``value``, ``issue`` and ``location``.
Only the first failing field is reported, in declaration order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import V3Error

__all__ = [
    "JSAPI_FIELDS",
    "OUT_REFUND_NO",
    "OUT_TRADE_NO",
    "REFUND_FIELDS",
    "Field",
    "check_fields",
    "has_4byte_chars",
    "param_error",
    "pointer_get",
]

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
TRANSACTION_ID = re.compile(r"\d{28}")
HTTP_URL = re.compile(r"https?://[^\s?#]+")
_TYPE_NAMES = {str: "字符串", int: "整数", bool: "布尔值", dict: "对象", list: "数组"}


@dataclass(frozen=True)
class Field:
    pointer: str
    label: str
    kind: type = str
    required: bool = False
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    positive: bool = False


JSAPI_FIELDS = (
    Field("/appid", "应用ID", required=True, max_len=32),
    Field("/mchid", "直连商户号", required=True, max_len=32),
    Field("/description", "商品描述", required=True, max_len=127),
    Field("/out_trade_no", "商户订单号", required=True, max_len=32, pattern=OUT_TRADE_NO),
    Field("/time_expire", "交易结束时间", max_len=64),
    Field("/attach", "附加数据", max_len=128),
    Field("/notify_url", "通知地址", required=True, max_len=255, pattern=HTTP_URL),
    Field("/goods_tag", "订单优惠标记", max_len=32),
    Field("/support_fapiao", "电子发票入口开放标识", kind=bool),
    Field("/amount", "订单金额", kind=dict, required=True),
    Field("/amount/total", "总金额", kind=int, required=True, positive=True),
    Field("/amount/currency", "货币类型", max_len=16),
    Field("/payer", "支付者", kind=dict, required=True),
    Field("/payer/openid", "用户标识", required=True, max_len=128),
    Field("/detail", "优惠功能", kind=dict),
    Field("/scene_info", "场景信息", kind=dict),
    Field("/settle_info", "结算信息", kind=dict),
)

REFUND_FIELDS = (
    Field("/transaction_id", "微信支付订单号", max_len=32),
    Field("/out_trade_no", "商户订单号", max_len=32),
    Field("/out_refund_no", "商户退款单号", required=True, max_len=64, pattern=OUT_REFUND_NO),
    Field("/reason", "退款原因", max_len=80),
    Field("/notify_url", "退款结果回调url", max_len=256, pattern=HTTP_URL),
    Field("/funds_account", "退款资金来源", max_len=32),
    Field("/amount", "金额信息", kind=dict, required=True),
    Field("/amount/refund", "退款金额", kind=int, required=True, positive=True),
    Field("/amount/total", "原订单金额", kind=int, required=True, positive=True),
    Field("/amount/currency", "退款币种", required=True, max_len=16),
    Field("/amount/from", "退款出资账户及金额", kind=list),
    Field("/goods_detail", "退款商品", kind=list),
)


def param_error(
    location: str, pointer: str, label: str, rule: str, issue: str, value: Any = ""
) -> V3Error:
    return V3Error(
        400,
        "PARAM_ERROR",
        f"输入源“/{location}{pointer}”映射到字段“{label}”{rule}",
        {"field": pointer, "value": value, "issue": issue, "location": location},
    )


def pointer_get(body: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) of a JSON pointer made of object keys only."""
    node = body
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def has_4byte_chars(text: str) -> bool:
    """WeChat accepts only characters of 1-3 UTF-8 bytes (no emoji) (§2.1)."""
    return any(ord(ch) > 0xFFFF for ch in text)


def _check(field: Field, value: Any, location: str) -> None:
    def fail(rule: str, issue: str) -> V3Error:
        shown = value if isinstance(value, str | int | bool) else ""
        return param_error(location, field.pointer, field.label, rule, issue, shown)

    kind_ok = isinstance(value, field.kind) and not (field.kind is int and isinstance(value, bool))
    if not kind_ok:
        name = _TYPE_NAMES.get(field.kind, field.kind.__name__)
        raise fail(f"类型校验失败，此字段应为{name}", f"must be {field.kind.__name__}")
    if isinstance(value, str):
        if field.required and value == "":
            raise fail("必填性规则校验失败，此字段为必填项", "must not be empty")
        if field.max_len is not None and len(value) > field.max_len:
            raise fail(f"长度校验失败，此字段长度不能超过{field.max_len}", "too long")
        if has_4byte_chars(value):
            raise fail("字符规则校验失败，不支持4字节字符", "4-byte UTF-8 characters")
        if field.pattern is not None and value and not field.pattern.fullmatch(value):
            raise fail("格式校验失败，字段包含不允许的字符或长度不符", "bad format")
    if field.positive and isinstance(value, int) and value <= 0:
        raise fail("取值校验失败，此字段应大于0", "must be greater than 0")


def check_fields(body: dict[str, Any], fields: tuple[Field, ...], location: str = "body") -> None:
    """V3Error PARAM_ERROR for the first field that breaks its rule (null counts as a type error)."""
    for field in fields:
        found, value = pointer_get(body, field.pointer)
        if not found:
            if field.required:
                raise param_error(
                    location,
                    field.pointer,
                    field.label,
                    "必填性规则校验失败，此字段为必填项",
                    "required",
                )
            continue
        _check(field, value, location)
