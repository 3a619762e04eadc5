"""In-memory implementations of the use cases' ports (no mocks: they follow WeChat's rules)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mppay.domain.states import RefundStatus
from mppay.domain.wechat_facts import BillEntry, RefundSnapshot, TradeSnapshot
from mppay.usecases.ports import (
    AlreadyPaid,
    LoginIdentity,
    LoginRejected,
    NoBill,
    NotificationRejected,
    NotifyReply,
    OutcomeUnknown,
    PrepayCommand,
    RefundCommand,
    Refused,
    UnknownAtWeChat,
    VerifiedRefundNotice,
    VerifiedTradeNotice,
)


class MutableClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 29, 2, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class FakeTrade:
    command: PrepayCommand
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    refunds: dict[str, RefundCommand] = field(default_factory=dict)
    refund_status: dict[str, RefundStatus] = field(default_factory=dict)


class FakeGateway:
    """A WeChat Pay stand-in with real semantics: unique out_trade_no, paid orders stay paid.

    Notifications are JSON ``{"out_trade_no", "amount", ...}`` with a header
    ``x-fake-signature: ok``; anything else is rejected, like a bad signature.
    """

    api_version = "v3"

    def __init__(
        self, clock: MutableClock, *, appid: str = "wxFAKEAPPID000001", mchid: str = "1900000001"
    ) -> None:
        self.appid = appid
        self.mchid = mchid
        self.clock = clock
        self.trades: dict[str, FakeTrade] = {}
        self._ids = itertools.count(1)
        self.fail_next: list[Exception] = []
        self.bill: dict[date, list[BillEntry]] = {}
        self.calls: list[str] = []

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_next:
            raise self.fail_next.pop(0)

    def pay(self, out_trade_no: str) -> TradeSnapshot:
        trade = self.trades[out_trade_no]
        trade.state = "SUCCESS"
        trade.transaction_id = f"42000000{next(self._ids):020d}"
        trade.success_time = self.clock.now()
        return self.snapshot(out_trade_no)

    def snapshot(self, out_trade_no: str, **overrides: object) -> TradeSnapshot:
        trade = self.trades[out_trade_no]
        values: dict[str, object] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": out_trade_no,
            "trade_state": trade.state,
            "transaction_id": trade.transaction_id,
            "amount_total_fen": trade.command.amount_total_fen,
            "currency": trade.command.currency,
            "payer_openid": trade.command.payer_openid,
            "success_time": trade.success_time,
        }
        values.update(overrides)
        return TradeSnapshot(**values)  # type: ignore[arg-type]

    async def prepay(self, command: PrepayCommand) -> str:
        self._maybe_fail("prepay")
        existing = self.trades.get(command.out_trade_no)
        if existing is not None:
            if existing.state == "SUCCESS":
                raise AlreadyPaid("该订单已支付", code="ORDERPAID")
            if existing.command.amount_total_fen != command.amount_total_fen:
                raise Refused("201 商户订单号重复", code="INVALID_REQUEST")
        else:
            self.trades[command.out_trade_no] = FakeTrade(command)
        return f"wx{next(self._ids):030d}"

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        return {
            "timeStamp": str(int(self.clock.now().timestamp())),
            "nonceStr": "NONCE",
            "package": f"prepay_id={prepay_id}",
            "signType": "RSA",
            "paySign": "SIGNED",
        }

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        self._maybe_fail("query")
        if out_trade_no not in self.trades:
            raise UnknownAtWeChat("订单不存在", code="ORDER_NOT_EXIST")
        return self.snapshot(out_trade_no)

    async def close(self, out_trade_no: str) -> None:
        self._maybe_fail("close")
        trade = self.trades.get(out_trade_no)
        if trade is not None and trade.state == "NOTPAY":
            trade.state = "CLOSED"

    async def refund(self, command: RefundCommand) -> RefundSnapshot:
        self._maybe_fail("refund")
        trade = self.trades[command.out_trade_no]
        if command.out_refund_no not in trade.refunds:
            already = sum(
                c.refund_fen
                for no, c in trade.refunds.items()
                if trade.refund_status[no] is not RefundStatus.CLOSED
            )
            if already + command.refund_fen > trade.command.amount_total_fen:
                raise Refused("退款金额超过订单可退金额", code="INVALID_REQUEST")
            trade.refunds[command.out_refund_no] = command
            trade.refund_status[command.out_refund_no] = RefundStatus.PROCESSING
        return self.refund_snapshot(command.out_trade_no, command.out_refund_no)

    def refund_snapshot(self, out_trade_no: str, out_refund_no: str) -> RefundSnapshot:
        trade = self.trades[out_trade_no]
        command = trade.refunds[out_refund_no]
        return RefundSnapshot(
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            refund_id=f"5030{abs(hash(out_refund_no)) % 10**20:020d}",
            status=trade.refund_status[out_refund_no],
            refund_fen=command.refund_fen,
            total_fen=command.total_fen,
            success_time=self.clock.now()
            if trade.refund_status[out_refund_no] is RefundStatus.SUCCESS
            else None,
        )

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot:
        self._maybe_fail("query_refund")
        trade = self.trades.get(out_trade_no)
        if trade is None or out_refund_no not in trade.refunds:
            raise UnknownAtWeChat("退款单不存在", code="RESOURCE_NOT_EXISTS")
        return self.refund_snapshot(out_trade_no, out_refund_no)

    def notification_body(self, snapshot: TradeSnapshot | RefundSnapshot) -> bytes:
        data = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in snapshot.__dict__.items()
        }
        data["kind"] = "trade" if isinstance(snapshot, TradeSnapshot) else "refund"
        return json.dumps(data, default=str).encode()

    def _verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, object]:
        if headers.get("x-fake-signature") != "ok":
            raise NotificationRejected("SignatureMismatchError: bad signature")
        try:
            data: dict[str, object] = json.loads(body)
        except ValueError as exc:
            raise NotificationRejected("not JSON", kind="malformed") from exc
        return data

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        data = self._verify(headers, body)
        data.pop("kind")
        success = data.get("success_time")
        data["success_time"] = datetime.fromisoformat(str(success)) if success else None
        return VerifiedTradeNotice("EV-1", "TRANSACTION.SUCCESS", TradeSnapshot(**data))  # type: ignore[arg-type]

    async def verify_refund_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedRefundNotice:
        data = self._verify(headers, body)
        data.pop("kind")
        data["status"] = RefundStatus(str(data["status"]))
        success = data.get("success_time")
        data["success_time"] = datetime.fromisoformat(str(success)) if success else None
        return VerifiedRefundNotice("EV-2", f"REFUND.{data['status']}", RefundSnapshot(**data))  # type: ignore[arg-type]

    def ack(self) -> NotifyReply:
        return NotifyReply(204, b"", "application/json")

    def nack(self, status_code: int, message: str) -> NotifyReply:
        return NotifyReply(
            status_code,
            json.dumps({"code": "FAIL", "message": message}).encode(),
            "application/json",
        )

    async def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        for entry in self.bill.get(bill_date, []):
            yield entry
        if bill_date not in self.bill:
            raise NoBill("no bill for that day", code="NO_STATEMENT_EXIST")


class FakeLogin:
    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.unavailable = False

    def issue(self, openid: str) -> str:
        code = f"code-{len(self.codes)}-{openid}"
        self.codes[code] = openid
        return code

    async def code2session(self, code: str) -> LoginIdentity:
        if self.unavailable:
            raise OutcomeUnknown("system error", code="-1")
        openid = self.codes.pop(code, None)
        if openid is None:
            raise LoginRejected("40029", "invalid code")
        return LoginIdentity(openid=openid, unionid=None)
