"""Request and response bodies, named by role. ORM rows never leave through the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from mppay.domain.catalog import Product
from mppay.store.models import (
    DiscrepancyRow,
    NotificationRow,
    OrderEventRow,
    OrderItemRow,
    OrderRow,
    PaymentAttemptRow,
    ReconciliationRunRow,
    RefundRow,
)

Quantity = Annotated[StrictInt, Field(ge=1, le=999)]


class ErrorBody(BaseModel):
    code: str = Field(examples=["ORDER_NOT_FOUND"])
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class LoginRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="the code from wx.login")


class LoginResponse(BaseModel):
    token: str = Field(description="opaque Bearer token; revocable with POST /api/logout")
    expires_at: datetime


class ProductPublic(BaseModel):
    id: str
    name: str
    description: str
    price_fen: int

    @classmethod
    def of(cls, product: Product) -> ProductPublic:
        return cls(
            id=product.id,
            name=product.name,
            description=product.description,
            price_fen=product.price_fen,
        )


class OrderItemCreate(BaseModel):
    # Unknown fields (a client-sent price or amount) are ignored: the server prices the order.
    model_config = ConfigDict(extra="ignore")

    product_id: str = Field(min_length=1, max_length=64)
    quantity: Quantity = 1


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    items: list[OrderItemCreate] = Field(min_length=1, max_length=50)


class OrderItemPublic(BaseModel):
    product_id: str
    name: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int

    @classmethod
    def of(cls, row: OrderItemRow) -> OrderItemPublic:
        return cls(
            product_id=row.product_id,
            name=row.name,
            unit_price_fen=row.unit_price_fen,
            quantity=row.quantity,
            line_total_fen=row.line_total_fen,
        )


class OrderPublic(BaseModel):
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

    @classmethod
    def of(cls, row: OrderRow) -> OrderPublic:
        return cls(
            id=row.id,
            out_trade_no=row.out_trade_no,
            status=row.status,
            amount_total_fen=row.amount_total_fen,
            currency=row.currency,
            items=[OrderItemPublic.of(item) for item in row.items],
            created_at=row.created_at,
            paid_at=row.paid_at,
            transaction_id=row.transaction_id,
            refunded_fen=row.refunded_fen,
            expires_at=row.expires_at,
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


class RefundCreate(BaseModel):
    amount_fen: StrictInt = Field(gt=0)
    reason: str | None = Field(default=None, max_length=80)


class RefundPublic(BaseModel):
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

    @classmethod
    def of(cls, row: RefundRow) -> RefundPublic:
        return cls(
            id=row.id,
            order_id=row.order_id,
            out_refund_no=row.out_refund_no,
            amount_fen=row.amount_fen,
            status=row.status,
            reason=row.reason,
            refund_id=row.refund_id,
            created_at=row.created_at,
            succeeded_at=row.succeeded_at,
            needs_attention=row.needs_attention,
            error_code=row.error_code,
            error_message=row.error_message,
        )


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

    @classmethod
    def of(cls, row: OrderRow) -> AdminOrder:
        return cls(
            **OrderPublic.of(row).model_dump(),
            openid=row.openid,
            appid=row.appid,
            mchid=row.mchid,
            api_version=row.api_version,
            description=row.description,
            refund_reserved_fen=row.refund_reserved_fen,
            closed_at=row.closed_at,
            needs_review=row.needs_review,
            review_reason=row.review_reason,
        )


class AdminOrderPage(BaseModel):
    items: list[AdminOrder]
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    at: datetime
    type: str
    source: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: OrderEventRow) -> TimelineEntry:
        return cls(at=row.at, type=row.type, source=row.source, detail=row.detail)


class PaymentAttemptPublic(BaseModel):
    api_version: str
    status: str
    prepay_id: str | None
    requested_at: datetime
    obtained_at: datetime | None
    expires_at: datetime | None
    error_code: str | None
    error_message: str | None

    @classmethod
    def of(cls, row: PaymentAttemptRow) -> PaymentAttemptPublic:
        return cls(
            api_version=row.api_version,
            status=row.status,
            prepay_id=row.prepay_id,
            requested_at=row.requested_at,
            obtained_at=row.obtained_at,
            expires_at=row.expires_at,
            error_code=row.error_code,
            error_message=row.error_message,
        )


class NotificationPublic(BaseModel):
    received_at: datetime
    api_version: str
    channel: str
    notification_id: str | None
    event_type: str | None
    verified: bool
    outcome: str
    reason: str | None
    out_refund_no: str | None

    @classmethod
    def of(cls, row: NotificationRow) -> NotificationPublic:
        return cls(
            received_at=row.received_at,
            api_version=row.api_version,
            channel=row.channel,
            notification_id=row.notification_id,
            event_type=row.event_type,
            verified=row.verified,
            outcome=row.outcome,
            reason=row.reason,
            out_refund_no=row.out_refund_no,
        )


class AdminOrderDetail(BaseModel):
    order: AdminOrder
    payment_attempts: list[PaymentAttemptPublic]
    refunds: list[RefundPublic]
    notifications: list[NotificationPublic]
    timeline: list[TimelineEntry]


class Health(BaseModel):
    status: str
    database: str


class DiscrepancyPublic(BaseModel):
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

    @classmethod
    def of(cls, row: DiscrepancyRow) -> DiscrepancyPublic:
        return cls(
            kind=row.kind,
            resolution=row.resolution,
            out_trade_no=row.out_trade_no,
            out_refund_no=row.out_refund_no,
            transaction_id=row.transaction_id,
            ours=row.ours,
            theirs=row.theirs,
            detail=row.detail,
        )


class ReconciliationPublic(BaseModel):
    bill_date: date
    status: str = Field(description="RUNNING, DONE, NO_BILL or FAILED")
    api_version: str
    started_at: datetime
    finished_at: datetime | None
    bill_rows: int
    summary: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, row: ReconciliationRunRow) -> ReconciliationPublic:
        return cls(
            bill_date=row.bill_date,
            status=row.status,
            api_version=row.api_version,
            started_at=row.started_at,
            finished_at=row.finished_at,
            bill_rows=row.bill_rows,
            summary=row.summary,
            error=row.error,
        )


class ReconciliationDetail(ReconciliationPublic):
    discrepancies: list[DiscrepancyPublic]
