"""Request and response bodies, named by role. ORM rows never leave through the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from mppay.domain.money import MAX_ORDER_TOTAL_FEN

Quantity = Annotated[StrictInt, Field(ge=1, le=999)]


def _storable(value: object) -> object:
    """``value`` when no string in it carries NUL; ``ValueError`` otherwise.

    PostgreSQL refuses NUL in text, so it would otherwise surface as a 500 from deep inside the
    database layer. (Lone surrogates, JSON's ``\\ud800``, are already refused by pydantic's
    ``str``.)
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not accepted")
    elif isinstance(value, list | tuple):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value


class RequestBody(BaseModel):
    """Base of every JSON request body: no string anywhere in it may carry NUL."""

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: object) -> object:
        return _storable(value)


class _FromRow(BaseModel):
    """A response schema filled from a row's (or dataclass's) attributes of the same names."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object) -> Self:
        return cls.model_validate(row)


class ErrorBody(BaseModel):
    code: str = Field(examples=["ORDER_NOT_FOUND"])
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class LoginRequest(RequestBody):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login")


class LoginResponse(BaseModel):
    token: str = Field(description="opaque Bearer token; revocable with POST /api/logout")
    expires_at: datetime


class ProductPublic(_FromRow):
    id: str
    name: str
    description: str
    price_fen: int


class OrderItemCreate(RequestBody):
    # Unknown fields (a client-sent price or amount) are ignored: the server prices the order.
    model_config = ConfigDict(extra="ignore")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Quantity = 1


class OrderCreate(RequestBody):
    model_config = ConfigDict(extra="ignore")

    items: list[OrderItemCreate] = Field(min_length=1, max_length=50)


class OrderItemPublic(_FromRow):
    product_id: str
    name: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int


class TrackingPublic(BaseModel):
    express_company: str | None
    tracking_no: str | None


class ShippingPublic(BaseModel):
    """Shipping information of a paid order (发货信息管理); the server's word, not WeChat's UI."""

    state: str = Field(description="NOT_REQUIRED, PENDING_UPLOAD, UPLOADED, CONFIRMED or SETTLED")
    logistics_type: int | None = Field(
        description="1 express, 2 local delivery, 3 virtual goods, 4 self pick-up; null before"
    )
    merchant_id: str = Field(description="mchid: wx.openBusinessView('weappOrderConfirm') needs it")
    tracking: list[TrackingPublic]


class OrderPublic(_FromRow):
    id: str
    out_trade_no: str
    status: str = Field(description="PENDING, PAID, CLOSED, PARTIALLY_REFUNDED or REFUNDED")
    amount_total_fen: int
    currency: str
    items: list[OrderItemPublic]
    created_at: datetime
    paid_at: datetime | None
    transaction_id: str | None
    refunded_fen: int
    expires_at: datetime
    shipping: ShippingPublic | None = Field(
        default=None, description="paid orders: their shipping (GET /api/orders/{id} only)"
    )


class OrderPage(BaseModel):
    items: list[OrderPublic]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class RequestPaymentParams(BaseModel):
    """Pass these to wx.requestPayment unchanged."""

    timeStamp: str  # noqa: N815 - WeChat's own spelling
    nonceStr: str  # noqa: N815
    package: str
    signType: str  # noqa: N815
    paySign: str  # noqa: N815


class PaymentStartResponse(BaseModel):
    order_id: str
    params: RequestPaymentParams


class RefundCreate(RequestBody):
    # The range is the use case's rule (INVALID_AMOUNT); here it is only documented.
    amount_fen: StrictInt = Field(
        description="fen to refund, at most the order's refundable remainder",
        json_schema_extra={"minimum": 1, "maximum": MAX_ORDER_TOTAL_FEN},
    )
    reason: str | None = Field(default=None, max_length=80)


class RefundPublic(_FromRow):
    id: str
    order_id: str
    out_refund_no: str
    amount_fen: int
    status: str = Field(description="PROCESSING, SUCCESS, CLOSED or ABNORMAL")
    reason: str | None
    refund_id: str | None
    created_at: datetime
    succeeded_at: datetime | None
    needs_attention: bool
    error_code: str | None
    error_message: str | None


class AdminOrder(OrderPublic):
    openid: str
    appid: str
    mchid: str
    api_version: str
    description: str
    refund_reserved_fen: int
    closed_at: datetime | None
    needs_review: bool
    review_reason: str | None


class AdminOrderPage(BaseModel):
    items: list[AdminOrder]
    limit: int
    offset: int


class TimelineEntry(_FromRow):
    at: datetime
    type: str
    source: str
    detail: dict[str, Any]


class PaymentAttemptPublic(_FromRow):
    api_version: str
    status: str
    prepay_id: str | None
    requested_at: datetime
    obtained_at: datetime | None
    expires_at: datetime | None
    error_code: str | None
    error_message: str | None


class NotificationPublic(_FromRow):
    received_at: datetime
    api_version: str
    channel: str
    notification_id: str | None
    event_type: str | None
    verified: bool
    outcome: str
    reason: str | None
    out_refund_no: str | None
    body_sha256: str | None = Field(default=None, description="SHA-256 of the bytes received")
    body_length: int | None = Field(default=None, description="bytes received")


class AdminOrderDetail(BaseModel):
    order: AdminOrder
    payment_attempts: list[PaymentAttemptPublic]
    refunds: list[RefundPublic]
    notifications: list[NotificationPublic]
    timeline: list[TimelineEntry]


class Health(BaseModel):
    status: str
    database: str


class DiscrepancyPublic(_FromRow):
    kind: str
    resolution: str = Field(
        description="OPEN (needs a human), FIXED (by sync), HELD (next day's bill)"
    )
    out_trade_no: str | None
    out_refund_no: str | None
    transaction_id: str | None
    ours: str | None
    theirs: str | None
    detail: str | None


class ReconciliationPublic(_FromRow):
    bill_date: date
    status: str = Field(description="RUNNING, DONE, NO_BILL or FAILED")
    api_version: str
    started_at: datetime
    finished_at: datetime | None
    bill_rows: int
    summary: dict[str, Any]
    error: str | None


class ReconciliationDetail(ReconciliationPublic):
    discrepancies: list[DiscrepancyPublic]
