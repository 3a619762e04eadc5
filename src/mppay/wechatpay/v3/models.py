"""Typed API v3 requests and responses, in WeChat's own nouns (spec §2.4, §2.6-§2.10).

Requests are frozen and refuse unknown arguments; ``to_wire()`` gives the JSON object WeChat
expects, with absent fields omitted (WeChat rejects ``null``). Responses are frozen and ignore
unknown fields, because WeChat adds fields at any time.

Money is ``int`` fen, validated strictly: a float, a numeric string or a bool is an error.
Times are aware ``datetime`` objects; requests render them as RFC 3339 in +08:00 like WeChat.

The fields a SUCCESS must carry (``transaction_id``, ``amount.total`` / ``amount.currency``,
``refund_id``, ``amount.refund``) are optional in the response models: a correctly signed
message that leaves one out still parses, so the caller sees exactly what WeChat stated and
can refuse to act on it (a ``None`` there is never "paid" or "refunded" by default).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_serializer,
    model_validator,
)

__all__ = [
    "Amount",
    "CertificateEntry",
    "CertificateListResponse",
    "EncryptCertificate",
    "Fen",
    "FundsFrom",
    "GoodsDetail",
    "JsapiPrepayRequest",
    "OrderDetail",
    "Payer",
    "PositiveFen",
    "PrepayResponse",
    "PromotionDetail",
    "PromotionGoodsDetail",
    "Refund",
    "RefundAmount",
    "RefundAmountRequest",
    "RefundNotificationAmount",
    "RefundPromotionDetail",
    "RefundRequest",
    "RefundResource",
    "SceneInfo",
    "SettleInfo",
    "StoreInfo",
    "TradeBill",
    "Transaction",
    "TransactionAmount",
    "TransactionPayer",
    "TransactionSceneInfo",
    "describe_validation_error",
    "format_rfc3339",
    "wire_json",
]

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


def format_rfc3339(value: datetime) -> str:
    """An aware datetime as WeChat writes it: ``2018-06-08T10:34:56+08:00`` (whole seconds)."""
    if value.tzinfo is None:
        raise ValueError("WeChat times must be aware datetimes")
    return value.astimezone(CHINA_STANDARD_TIME).isoformat(timespec="seconds")


def wire_json(data: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (no spaces, no ASCII escaping), the exact bytes that get signed."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def describe_validation_error(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing the values (they may be personal data)."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    shown = "; ".join(problems[:3])
    return shown + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")


def _three_byte_utf8(value: str) -> str:
    # WeChat stores 1-3 byte UTF-8 only (spec §2.1); emoji would be refused or mangled later.
    if any(ord(char) > 0xFFFF for char in value):
        raise ValueError("WeChat Pay accepts only characters of 1-3 UTF-8 bytes (no emoji)")
    return value


def _notify_url(value: str) -> str:
    # WeChat requires HTTPS in production; plain http is allowed here for a local emulator.
    if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
        raise ValueError("notify_url must be an absolute http(s) URL without a query string")
    return value


Fen = Annotated[StrictInt, Field(ge=0)]
"""An amount in fen (1 CNY = 100 fen) as WeChat reports it."""
PositiveFen = Annotated[StrictInt, Field(gt=0)]
"""An amount in fen that must be positive (order totals, refund amounts)."""
WireText = Annotated[str, AfterValidator(_three_byte_utf8)]
NotifyUrl = Annotated[str, Field(max_length=255), AfterValidator(_notify_url)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        """The JSON object for the request body: absent fields omitted, WeChat's key names."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


# --- JSAPI / Mini Program order (spec §2.6) -------------------------------------------------


class Amount(_Request):
    total: PositiveFen
    currency: str = "CNY"


class Payer(_Request):
    openid: str = Field(min_length=1, max_length=128)


class GoodsDetail(_Request):
    merchant_goods_id: str = Field(min_length=1, max_length=32)
    wechatpay_goods_id: str | None = None
    goods_name: WireText | None = None
    quantity: Annotated[StrictInt, Field(gt=0)]
    unit_price: Fen


class OrderDetail(_Request):
    cost_price: Fen | None = None
    invoice_id: str | None = None
    goods_detail: list[GoodsDetail] | None = None


class StoreInfo(_Request):
    id: str = Field(min_length=1, max_length=32)
    name: WireText | None = None
    area_code: str | None = None
    address: WireText | None = None


class SceneInfo(_Request):
    payer_client_ip: str = Field(min_length=1, max_length=45)
    device_id: str | None = None
    store_info: StoreInfo | None = None


class SettleInfo(_Request):
    profit_sharing: StrictBool | None = None


class JsapiPrepayRequest(_Request):
    """``POST /v3/pay/transactions/jsapi`` without ``appid``/``mchid`` (the client adds them).

    Field order is the wire order; ``time_expire`` is rendered in +08:00 like WeChat.
    Raises ``pydantic.ValidationError`` on construction for out-of-spec values.
    """

    description: WireText = Field(min_length=1, max_length=127)
    out_trade_no: str = Field(pattern=r"^[0-9A-Za-z_\-|*]{6,32}$")
    time_expire: AwareDatetime | None = None
    attach: WireText | None = Field(default=None, max_length=128)
    notify_url: NotifyUrl
    goods_tag: str | None = Field(default=None, max_length=32)
    support_fapiao: StrictBool | None = None
    amount: Amount
    payer: Payer
    detail: OrderDetail | None = None
    scene_info: SceneInfo | None = None
    settle_info: SettleInfo | None = None

    @field_serializer("time_expire")
    def _render_time_expire(self, value: datetime | None) -> str | None:
        return format_rfc3339(value) if value is not None else None


class PrepayResponse(_Response):
    prepay_id: str = Field(min_length=1)


# --- Order query result (spec §2.7) and the TRANSACTION.SUCCESS resource ---------------------


class TransactionPayer(_Response):
    openid: str | None = None


class TransactionAmount(_Response):
    total: Fen | None = None
    payer_total: Fen | None = None
    currency: str | None = None
    payer_currency: str | None = None


class TransactionSceneInfo(_Response):
    device_id: str | None = None


class PromotionGoodsDetail(_Response):
    goods_id: str
    quantity: StrictInt
    unit_price: Fen
    discount_amount: Fen
    goods_remark: str | None = None


class PromotionDetail(_Response):
    coupon_id: str
    amount: Fen
    name: str | None = None
    scope: str | None = None
    type: str | None = None
    stock_id: str | None = None
    wechatpay_contribute: Fen | None = None
    merchant_contribute: Fen | None = None
    other_contribute: Fen | None = None
    currency: str | None = None
    goods_detail: list[PromotionGoodsDetail] = Field(default_factory=list)


class Transaction(_Response):
    """An order as WeChat sees it. ``trade_state`` is kept as a string (``SUCCESS``, ``REFUND``,
    ``NOTPAY``, ``CLOSED``, ``REVOKED``, ``USERPAYING``, ``PAYERROR``, ``ACCEPT``) so a state
    WeChat adds later does not make a genuine notification unreadable."""

    appid: str
    mchid: str
    out_trade_no: str
    transaction_id: str | None = None
    trade_type: str | None = None
    trade_state: str
    trade_state_desc: str | None = None
    bank_type: str | None = None
    attach: str | None = None
    success_time: AwareDatetime | None = None
    payer: TransactionPayer | None = None
    amount: TransactionAmount | None = None
    scene_info: TransactionSceneInfo | None = None
    promotion_detail: list[PromotionDetail] = Field(default_factory=list)


# --- Refunds (spec §2.9) and the REFUND.* resource (spec §2.5) --------------------------------


class RefundAmountRequest(_Request):
    refund: PositiveFen
    total: PositiveFen
    currency: str = "CNY"

    @model_validator(mode="after")
    def _refund_within_total(self) -> RefundAmountRequest:
        if self.refund > self.total:
            raise ValueError("amount.refund cannot exceed amount.total")
        return self


class RefundRequest(_Request):
    """``POST /v3/refund/domestic/refunds``: exactly one of ``out_trade_no`` / ``transaction_id``.

    Retry a failed or unknown refund with the same ``out_refund_no``: WeChat refunds it once.
    """

    transaction_id: str | None = Field(default=None, min_length=1, max_length=32)
    out_trade_no: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_\-|*]{6,32}$")
    out_refund_no: str = Field(pattern=r"^[0-9A-Za-z_\-|*@]{1,64}$")
    reason: WireText | None = Field(default=None, max_length=80)
    notify_url: NotifyUrl | None = None
    funds_account: str | None = None
    amount: RefundAmountRequest

    @model_validator(mode="after")
    def _one_order_reference(self) -> RefundRequest:
        if (self.transaction_id is None) == (self.out_trade_no is None):
            raise ValueError("give exactly one of out_trade_no and transaction_id")
        return self


class FundsFrom(_Response):
    account: str
    amount: Fen


class RefundAmount(_Response):
    total: Fen
    refund: Fen | None = None
    payer_total: Fen | None = None
    payer_refund: Fen | None = None
    settlement_refund: Fen | None = None
    settlement_total: Fen | None = None
    discount_refund: Fen | None = None
    refund_fee: Fen | None = None
    currency: str | None = None
    from_: list[FundsFrom] = Field(default_factory=list, alias="from")


class RefundPromotionDetail(_Response):
    promotion_id: str
    amount: Fen
    refund_amount: Fen
    scope: str | None = None
    type: str | None = None


class Refund(_Response):
    """A refund as the refund API returns it; ``status`` is ``SUCCESS``, ``CLOSED``,
    ``PROCESSING`` or ``ABNORMAL`` (only ``SUCCESS`` and ``CLOSED`` are final)."""

    refund_id: str | None = None
    out_refund_no: str
    transaction_id: str
    out_trade_no: str
    channel: str | None = None
    user_received_account: str | None = None
    success_time: AwareDatetime | None = None
    create_time: AwareDatetime | None = None
    status: str
    funds_account: str | None = None
    amount: RefundAmount | None = None
    promotion_detail: list[RefundPromotionDetail] = Field(default_factory=list)


class RefundNotificationAmount(_Response):
    total: Fen
    refund: Fen | None = None
    payer_total: Fen | None = None
    payer_refund: Fen | None = None


class RefundResource(_Response):
    """The decrypted ``REFUND.*`` resource. Note ``refund_status`` here, ``status`` in ``Refund``."""

    mchid: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund_id: str | None = None
    refund_status: str
    success_time: AwareDatetime | None = None
    user_received_account: str | None = None
    amount: RefundNotificationAmount | None = None


# --- Bills (spec §2.10) and certificates (spec §2.4) -------------------------------------------


class TradeBill(_Response):
    """Where to fetch a trade bill and the SHA-1 (lower hex) of its uncompressed bytes."""

    hash_type: str
    hash_value: str
    download_url: str


class EncryptCertificate(_Response):
    algorithm: str
    nonce: str
    associated_data: str | None = None
    ciphertext: str


class CertificateEntry(_Response):
    serial_no: str
    effective_time: AwareDatetime
    expire_time: AwareDatetime
    encrypt_certificate: EncryptCertificate


class CertificateListResponse(_Response):
    data: list[CertificateEntry]
