"""Tables. Unique constraints sit wherever a duplicate would cost money.

Times are stored as aware UTC (``UTCDateTime`` keeps SQLite, which has no time zones, honest).
Money columns are integer fen.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "DiscrepancyRow",
    "IdempotencyKeyRow",
    "JobRow",
    "MessagePushRow",
    "NotificationRow",
    "OperatorAuditRow",
    "OperatorRow",
    "OperatorSessionRow",
    "OrderEventRow",
    "OrderItemRow",
    "OrderRow",
    "PaymentAttemptRow",
    "ReconciliationRunRow",
    "RefundIdempotencyKeyRow",
    "RefundRow",
    "SessionRow",
    "ShipmentRequestRow",
    "ShipmentRow",
    "UTCDateTime",
    "UserRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(128), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class SessionRow(Base):
    """A login session. Only the SHA-256 of the bearer token is stored."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_paid_at", "paid_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    openid: Mapped[str] = mapped_column(String(128))
    appid: Mapped[str] = mapped_column(String(32))
    mchid: Mapped[str] = mapped_column(String(32))
    api_version: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(String(127))
    status: Mapped[str] = mapped_column(String(24))
    amount_total_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    # Refunds accepted or in flight (PROCESSING, ABNORMAL, SUCCESS): the guard against
    # refunding more than was paid, moved only by conditional UPDATEs.
    refund_reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    first_prepay_at: Mapped[datetime | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list[OrderItemRow]] = relationship(
        order_by="OrderItemRow.id", lazy="selectin", cascade="all, delete-orphan"
    )


class OrderItemRow(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(127))
    unit_price_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_fen: Mapped[int] = mapped_column(BigInteger)


class PaymentAttemptRow(Base):
    """One prepay request: REQUESTED, then OBTAINED (with prepay_id), FAILED or UNKNOWN."""

    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    api_version: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    obtained_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)


class RefundRow(Base):
    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_succeeded_at", "succeeded_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    # PENDING (not sent yet), ACCEPTED (WeChat took it), UNKNOWN (sent, answer lost),
    # REJECTED (WeChat definitely refused; the reservation was released).
    submit_state: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    succeeded_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)


class NotificationRow(Base):
    """Every notification received, verified or not, for audit.

    ``body`` is the whole body of a verified notification and only a short prefix of any
    other (see ``mppay.usecases.notification_records``); ``body_sha256`` and ``body_length``
    describe the exact bytes received (NULL on rows stored before migration 0002).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_received_at", "received_at"),
        # Retention walks the rejected ones by age without scanning the verified ones.
        Index("ix_notifications_verified_received_at", "verified", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    api_version: Mapped[str] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))  # payment | refund
    notification_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(32))
    verified: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    out_trade_no: Mapped[str | None] = mapped_column(String(32), index=True)
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True)
    headers: Mapped[dict[str, Any]]
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    body_length: Mapped[int | None] = mapped_column(Integer)


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime]


class RefundIdempotencyKeyRow(Base):
    """An operator's ``Idempotency-Key`` on a refund request, scoped to the order.

    The unique (order_id, key) is the guard: of concurrent identical retries, one inserts the
    key together with its refund and the others find it.
    """

    __tablename__ = "refund_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("order_id", "key", name="uq_refund_idempotency_keys_order_key"),
        Index("ix_refund_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    refund_id: Mapped[str] = mapped_column(ForeignKey("refunds.id"))
    created_at: Mapped[datetime]


class OrderEventRow(Base):
    """The append-only timeline of an order."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]]


class JobRow(Base):
    """Outbox: follow-up work written in the same transaction as the state change."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_at", "status", "run_at"),
        Index("ix_jobs_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    # At most one open job per dedupe key (e.g. "close:<order id>"); NULL means no dedupe.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(12))
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=20)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReconciliationRunRow(Base):
    """One reconciliation of one bill date; a re-run replaces it (unique bill_date)."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_date: Mapped[date] = mapped_column(Date, unique=True)
    api_version: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))  # RUNNING, DONE, NO_BILL, FAILED
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    bill_rows: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class DiscrepancyRow(Base):
    __tablename__ = "reconciliation_discrepancies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str] = mapped_column(String(16))  # OPEN, FIXED, HELD
    out_trade_no: Mapped[str | None] = mapped_column(String(32))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(32))
    ours: Mapped[str | None] = mapped_column(Text)
    theirs: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class OperatorRow(Base):
    """A person who signs in to the operations console. Only an argon2 hash of the password."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # viewer | support | admin
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class OperatorSessionRow(Base):
    """A console sign-in. Only the SHA-256 of the cookie's token is stored; ``csrf_token`` is
    what every form of the session must send back (useless without the cookie)."""

    __tablename__ = "operator_sessions"
    __table_args__ = (Index("ix_operator_sessions_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    client_ip: Mapped[str] = mapped_column(String(64))


class OperatorAuditRow(Base):
    """Who did what to which record, when, from where, and how it ended. Append-only."""

    __tablename__ = "operator_audit"
    __table_args__ = (Index("ix_operator_audit_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    # NULL for a sign-in attempt under a name that is no operator.
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(40))
    client_ip: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class ShipmentRow(Base):
    """Shipping information of one paid order (发货信息管理); see ``mppay.domain.shipping``."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_state_created_at", "state", "created_at"),)

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # physical | virtual
    logistics_type: Mapped[int | None] = mapped_column(Integer)
    # What WeChat holds: the packages of the accepted uploads ({"packages": [...]}).
    packages: Mapped[dict[str, Any]]
    # Completing uploads asked for (the upload and its one correction): the guard of the
    # "one update per payment" rule, moved by a conditional UPDATE.
    requested: Mapped[int] = mapped_column(Integer, default=0)
    uploads: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    uploaded_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]


class ShipmentRequestRow(Base):
    """One upload asked for (operator, correction or automatic), run by a ``shipping.upload`` job.

    ``upload_time`` is fixed when asked, so a retry after an unknown outcome sends the same one.
    """

    __tablename__ = "shipment_requests"
    __table_args__ = (UniqueConstraint("order_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # ship | correct | auto
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(12))  # QUEUED | UPLOADED | REFUSED
    upload_time: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class MessagePushRow(Base):
    """A verified Mini Program message push, stored once (unique ``dedupe_key``)."""

    __tablename__ = "message_pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(32), index=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True)
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(Text)
