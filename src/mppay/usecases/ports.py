"""The ports the use cases need: WeChat Pay, WeChat login, and a clock.

Adapters in ``mppay.adapters`` implement them over ``mppay.wechatpay``; tests may implement
them with fakes. Port errors keep the one distinction that matters for money: WeChat refused
(``Refused`` and its subclasses) versus outcome unknown (``OutcomeUnknown``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from mppay.domain.wechat_facts import BillEntry, RefundSnapshot, TradeSnapshot

__all__ = [
    "AlreadyClosed",
    "AlreadyPaid",
    "Clock",
    "GatewayError",
    "LoginGateway",
    "LoginIdentity",
    "LoginRejected",
    "NackMessage",
    "NoBill",
    "NotificationRejected",
    "NotifyReply",
    "OutcomeUnknown",
    "PaymentGateway",
    "PrepayCommand",
    "RefundCommand",
    "Refused",
    "UnknownAtWeChat",
    "VerifiedRefundNotice",
    "VerifiedTradeNotice",
]

ApiVersion = Literal["v3", "v2"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class GatewayError(Exception):
    """Base of port errors; ``code`` is WeChat's code when there is one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class OutcomeUnknown(GatewayError):
    """Timeout, 5xx, SYSTEM_ERROR, or an untrusted answer: WeChat may or may not have acted."""


class Refused(GatewayError):
    """WeChat definitely did not carry out the request."""


class AlreadyPaid(Refused):
    """The order is already paid at WeChat (v2 ORDERPAID)."""


class AlreadyClosed(Refused):
    """The order is closed at WeChat."""


class UnknownAtWeChat(Refused):
    """WeChat has no such order / refund."""


class NoBill(Refused):
    """No bill exists for that date (no trades) or it is not generated yet."""


class NotificationRejected(Exception):
    """A notification failed verification; ``reason`` is safe to log and store.

    The reason is for us (log, stored record), never for the reply to WeChat: it can name
    exception classes, our clock or XML parse positions. ``kind`` picks the reply.
    """

    def __init__(self, reason: str, *, kind: str = "verification") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class LoginRejected(Exception):
    """WeChat refused the login code (invalid, used, expired, blocked, rate limited)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PrepayCommand:
    out_trade_no: str
    description: str
    amount_total_fen: int
    currency: str
    payer_openid: str
    notify_url: str
    time_expire: datetime
    client_ip: str


@dataclass(frozen=True)
class RefundCommand:
    out_trade_no: str
    transaction_id: str | None
    out_refund_no: str
    refund_fen: int
    total_fen: int
    currency: str
    reason: str | None
    notify_url: str


@dataclass(frozen=True)
class VerifiedTradeNotice:
    notification_id: str | None
    event_type: str
    snapshot: TradeSnapshot


@dataclass(frozen=True)
class VerifiedRefundNotice:
    notification_id: str | None
    event_type: str
    snapshot: RefundSnapshot


# All WeChat is told when a notification is refused: a fixed message per kind, so no detail of
# ours (exception classes, the server's clock, parse positions) can reach the reply.
NackMessage = Literal[
    "signature invalid", "malformed", "unknown order", "unknown refund", "internal error"
]


@dataclass(frozen=True)
class NotifyReply:
    """The HTTP answer WeChat expects for a notification."""

    status_code: int
    body: bytes
    media_type: str


class PaymentGateway(Protocol):
    """WeChat Pay for one merchant through one API version."""

    @property
    def api_version(self) -> ApiVersion: ...

    @property
    def appid(self) -> str: ...

    @property
    def mchid(self) -> str: ...

    async def prepay(self, command: PrepayCommand) -> str:
        """Return a prepay_id. Raises Refused subclasses or OutcomeUnknown."""
        ...

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        """Freshly signed ``wx.requestPayment`` params (timeStamp, nonceStr, package, signType, paySign)."""
        ...

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot: ...

    async def close(self, out_trade_no: str) -> None: ...

    async def refund(self, command: RefundCommand) -> RefundSnapshot: ...

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot: ...

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        """Verify over the raw bytes, then decode. Raises NotificationRejected."""
        ...

    async def verify_refund_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedRefundNotice: ...

    def ack(self) -> NotifyReply: ...

    def nack(self, status_code: int, message: NackMessage) -> NotifyReply:
        """The refusal WeChat redelivers after (v3 ``{"code":"FAIL","message"}``, v2 FAIL XML)."""
        ...

    def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        """The rows of the ``ALL`` trade bill of ``bill_date``, streamed in constant memory.

        Raises ``NoBill`` when there is none (no trades, or not generated yet) and
        ``OutcomeUnknown`` when it cannot be fetched or its digest does not match (raised at
        the end of the stream: consumers must not commit before the iteration completes).
        """
        ...


@dataclass(frozen=True)
class LoginIdentity:
    openid: str
    unionid: str | None


class LoginGateway(Protocol):
    async def code2session(self, code: str) -> LoginIdentity:
        """Raises LoginRejected or OutcomeUnknown. The session_key is not returned: mppay keeps none."""
        ...
