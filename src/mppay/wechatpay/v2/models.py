"""Typed API v2 requests, results and notifications (pydantic v2, frozen).

Field names are WeChat's own wire names (``total_fee``, ``out_trade_no``, even the misspelled
``refund_recv_accout``). Money is ``int`` fen:

- in requests (built by our callers) it must be a real ``int`` > 0 -- a float, a bool or a
  numeric string is a ``ValidationError``;
- in results and notifications it is parsed from WeChat's XML text and must be ASCII digits
  only: ``"1.00"``, ``"-1"`` or ``" 1"`` is a ``MalformedMessageError``.

Times: WeChat's ``yyyyMMddHHmmss`` (``time_end``) and ``yyyy-MM-dd HH:mm:ss``
(``success_time``) are Beijing wall-clock times; they become aware ``datetime`` objects in
UTC+08:00. ``time_expire`` / ``time_start`` must be aware and are rendered in Beijing time.

Received models are built with ``from_fields`` (the dict from ``parse_xml``): unknown fields are
ignored, empty values count as absent, and any problem is a ``MalformedMessageError`` whose
message names the fields but never echoes their values.

The fields a SUCCESS must carry (``transaction_id`` and ``total_fee`` of a payment, ``refund_id``
and ``refund_fee`` of a refund) are optional in the received models: a correctly signed message
that leaves one out still parses, so the caller sees exactly what WeChat stated and can refuse to
act on it (a ``None`` there is never "paid" or "refunded" by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from mppay.wechatpay.errors import MalformedMessageError

__all__ = [
    "BEIJING",
    "UnifiedOrderRequest",
    "UnifiedOrderResult",
    "V2Order",
    "V2PaymentNotification",
    "V2RefundNotification",
    "V2RefundQueryResult",
    "V2RefundRecord",
    "V2RefundRequest",
    "V2RefundResult",
    "render_beijing",
]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""China Standard Time; fixed +08:00 (no DST since 1991), so no tz database is needed."""

_DIGITS = re.compile(r"[0-9]{1,18}")
_COMPACT_TIME = re.compile(r"[0-9]{14}")
_DASHED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def _wire_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError("must be a whole number written with ASCII digits only")


def _wire_time(pattern: re.Pattern[str], strptime_format: str, layout: str) -> Any:
    def parse(value: object) -> object:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"must be a Beijing time written as {layout}")
        return datetime.strptime(value, strptime_format).replace(tzinfo=BEIJING)

    return parse


WireInt = Annotated[int, BeforeValidator(_wire_int)]
"""A count or an amount in fen as WeChat writes it: ASCII digits only."""
CompactTime = Annotated[
    AwareDatetime, BeforeValidator(_wire_time(_COMPACT_TIME, "%Y%m%d%H%M%S", "yyyyMMddHHmmss"))
]
DashedTime = Annotated[
    AwareDatetime,
    BeforeValidator(_wire_time(_DASHED_TIME, "%Y-%m-%d %H:%M:%S", "yyyy-MM-dd HH:mm:ss")),
]
Fen = Annotated[StrictInt, Field(gt=0)]
"""A request amount: a real ``int`` of fen, greater than zero."""
OutTradeNo = Annotated[str, Field(pattern=r"^[0-9A-Za-z_\-|*]{1,32}$")]
OutRefundNo = Annotated[str, Field(pattern=r"^[0-9A-Za-z_\-|*@]{1,64}$")]
NotifyUrl = Annotated[str, Field(pattern=r"^https?://[^?#\s]+$", max_length=256)]
"""WeChat requires a reachable URL without a query string."""


def render_beijing(moment: datetime) -> str:
    """An aware ``datetime`` as WeChat's ``yyyyMMddHHmmss`` in Beijing time."""
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"]) or "message"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


class _Received(BaseModel):
    """A model of something WeChat sent: unknown fields ignored, built from flat XML fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Self:
        """Validate WeChat's fields; empty values count as absent. ``MalformedMessageError``."""
        data = {key: value for key, value in fields.items() if value != ""}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise MalformedMessageError(f"{cls.__name__} is malformed: {_describe(exc)}") from None


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_fields(self) -> dict[str, str]:
        """The business fields as wire strings, without ``appid``/``mch_id``/nonce/sign."""
        fields: dict[str, str] = {}
        for name, value in self:
            if value is None:
                continue
            fields[name] = render_beijing(value) if isinstance(value, datetime) else str(value)
        return fields


class UnifiedOrderRequest(_Request):
    """``pay/unifiedorder`` for a Mini Program (``trade_type=JSAPI``, ``openid`` required)."""

    body: str = Field(min_length=1, max_length=127)
    out_trade_no: OutTradeNo
    total_fee: Fen
    spbill_create_ip: str = Field(min_length=1, max_length=64)
    notify_url: NotifyUrl
    openid: str = Field(min_length=1, max_length=128)
    trade_type: str = "JSAPI"
    attach: str | None = Field(default=None, max_length=127)
    time_expire: AwareDatetime | None = None
    time_start: AwareDatetime | None = None
    goods_tag: str | None = Field(default=None, max_length=32)
    fee_type: str | None = None


class UnifiedOrderResult(_Received):
    """The useful part of a successful ``pay/unifiedorder`` answer. ``prepay_id`` lives 2 h."""

    prepay_id: str
    trade_type: str
    appid: str | None = None
    mch_id: str | None = None
    device_info: str | None = None
    code_url: str | None = None
    mweb_url: str | None = None


class V2Order(_Received):
    """A ``pay/orderquery`` answer. ``is_paid`` means ``trade_state == "SUCCESS"``.

    WeChat documents ``transaction_id`` and ``total_fee`` on a ``SUCCESS`` order; check them
    before acting on ``is_paid`` (they are ``None`` when a signed answer leaves them out).
    """

    trade_state: str
    out_trade_no: str
    trade_state_desc: str | None = None
    transaction_id: str | None = None
    total_fee: WireInt | None = None
    cash_fee: WireInt | None = None
    settlement_total_fee: WireInt | None = None
    coupon_fee: WireInt | None = None
    fee_type: str | None = None
    cash_fee_type: str | None = None
    openid: str | None = None
    is_subscribe: str | None = None
    trade_type: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    device_info: str | None = None
    time_end: CompactTime | None = None
    appid: str | None = None
    mch_id: str | None = None

    @property
    def is_paid(self) -> bool:
        return self.trade_state == "SUCCESS"


class V2RefundRequest(_Request):
    """``secapi/pay/refund``: name the order by exactly one of ``out_trade_no`` /
    ``transaction_id``; ``0 < refund_fee <= total_fee``. Retry a failed or unknown refund with
    the **same** ``out_refund_no``: WeChat refunds one number only once."""

    out_refund_no: OutRefundNo
    total_fee: Fen
    refund_fee: Fen
    out_trade_no: OutTradeNo | None = None
    transaction_id: str | None = Field(default=None, min_length=1, max_length=32)
    refund_desc: str | None = Field(default=None, max_length=80)
    notify_url: NotifyUrl | None = None
    refund_account: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.out_trade_no is None) == (self.transaction_id is None):
            raise ValueError("give exactly one of out_trade_no and transaction_id")
        if self.refund_fee > self.total_fee:
            raise ValueError("refund_fee cannot exceed total_fee")
        return self


class V2RefundResult(_Received):
    """A ``secapi/pay/refund`` acceptance: the refund is submitted, not yet done."""

    transaction_id: str
    out_trade_no: str
    out_refund_no: str
    refund_id: str
    refund_fee: WireInt
    total_fee: WireInt
    cash_fee: WireInt | None = None
    settlement_refund_fee: WireInt | None = None
    settlement_total_fee: WireInt | None = None
    cash_refund_fee: WireInt | None = None
    coupon_refund_fee: WireInt | None = None
    fee_type: str | None = None
    cash_fee_type: str | None = None
    appid: str | None = None
    mch_id: str | None = None


class V2RefundRecord(_Received):
    """One refund of a ``pay/refundquery`` answer (the ``*_$n`` fields with index ``n``).

    ``refund_status``: ``SUCCESS``, ``REFUNDCLOSE``, ``PROCESSING`` or ``CHANGE`` (abnormal).
    """

    out_refund_no: str
    refund_id: str | None = None
    refund_fee: WireInt | None = None
    refund_status: str
    success_time: DashedTime | None = None
    refund_channel: str | None = None
    settlement_refund_fee: WireInt | None = None
    coupon_refund_fee: WireInt | None = None
    refund_recv_accout: str | None = None
    refund_account: str | None = None


# record field -> wire prefix (the wire name is f"{prefix}_{n}")
_RECORD_WIRE_NAMES = {
    "out_refund_no": "out_refund_no",
    "refund_id": "refund_id",
    "refund_fee": "refund_fee",
    "refund_status": "refund_status",
    "success_time": "refund_success_time",
    "refund_channel": "refund_channel",
    "settlement_refund_fee": "settlement_refund_fee",
    "coupon_refund_fee": "coupon_refund_fee",
    "refund_recv_accout": "refund_recv_accout",
    "refund_account": "refund_account",
}


class V2RefundQueryResult(_Received):
    """A ``pay/refundquery`` answer with its indexed refunds gathered into ``refunds``."""

    out_trade_no: str
    total_fee: WireInt
    refund_count: WireInt
    refunds: tuple[V2RefundRecord, ...]
    transaction_id: str | None = None
    cash_fee: WireInt | None = None
    settlement_total_fee: WireInt | None = None
    total_refund_count: WireInt | None = None
    fee_type: str | None = None
    appid: str | None = None
    mch_id: str | None = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Self:
        """Gather ``out_refund_no_0``, ``refund_fee_0`` ... into ``refunds`` (``refund_count``
        of them; a missing indexed field is a ``MalformedMessageError``)."""
        try:
            count = _wire_int(fields.get("refund_count"))
        except ValueError:
            raise MalformedMessageError(
                "V2RefundQueryResult is malformed: refund_count must be digits"
            ) from None
        records = []
        for n in range(count):
            if f"out_refund_no_{n}" not in fields:
                raise MalformedMessageError(f"V2RefundQueryResult is malformed: no refund #{n}")
            records.append(
                {name: fields.get(f"{wire}_{n}", "") for name, wire in _RECORD_WIRE_NAMES.items()}
            )
        refunds = tuple(V2RefundRecord.from_fields(record) for record in records)
        return super().from_fields({**fields, "refunds": refunds})


class V2PaymentNotification(_Received):
    """A verified v2 payment notification. ``is_paid`` iff ``result_code == "SUCCESS"``.

    WeChat documents every field below as present whatever ``result_code`` is; a
    ``result_code=FAIL`` notification is returned typed but is not a payment. ``transaction_id``
    and ``total_fee`` are ``None`` when a signed notification leaves them out: check them before
    acting on ``is_paid``.
    """

    appid: str
    mch_id: str
    result_code: Literal["SUCCESS", "FAIL"]
    out_trade_no: str
    transaction_id: str | None = None
    total_fee: WireInt | None = None
    cash_fee: WireInt
    time_end: CompactTime
    openid: str
    trade_type: str
    bank_type: str
    err_code: str | None = None
    err_code_des: str | None = None
    settlement_total_fee: WireInt | None = None
    coupon_fee: WireInt | None = None
    coupon_count: WireInt | None = None
    fee_type: str | None = None
    cash_fee_type: str | None = None
    is_subscribe: str | None = None
    attach: str | None = None
    device_info: str | None = None
    sign_type: str | None = None

    @property
    def is_paid(self) -> bool:
        return self.result_code == "SUCCESS"


class V2RefundNotification(_Received):
    """A decrypted v2 refund notification: outer ``appid``/``mch_id`` plus the ``req_info``
    fields. ``refund_status``: ``SUCCESS``, ``CHANGE`` (abnormal) or ``REFUNDCLOSE``.

    ``req_info`` is AES-ECB without integrity: query the refund before moving money on it.
    """

    appid: str
    mch_id: str
    transaction_id: str
    out_trade_no: str
    refund_id: str | None = None
    out_refund_no: str
    total_fee: WireInt
    refund_fee: WireInt | None = None
    refund_status: str
    settlement_total_fee: WireInt | None = None
    settlement_refund_fee: WireInt | None = None
    success_time: DashedTime | None = None
    refund_recv_accout: str | None = None
    refund_account: str | None = None
    refund_request_source: str | None = None

    @property
    def refund_recv_account(self) -> str | None:
        """``refund_recv_accout`` under its intended spelling (WeChat's wire name is misspelled)."""
        return self.refund_recv_accout

    @property
    def is_success(self) -> bool:
        return self.refund_status == "SUCCESS"
