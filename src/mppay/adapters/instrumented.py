"""Timing and outcome of every WeChat call, for metrics, without touching the gateways."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import date
from typing import Protocol, TypeVar

from mppay.domain.wechat_facts import BillEntry, RefundSnapshot, TradeSnapshot
from mppay.usecases.ports import (
    LoginGateway,
    LoginIdentity,
    LoginRejected,
    NackMessage,
    NotifyReply,
    OutcomeUnknown,
    PaymentGateway,
    PrepayCommand,
    RefundCommand,
    Refused,
    VerifiedRefundNotice,
    VerifiedTradeNotice,
)

__all__ = ["CallRecorder", "InstrumentedGateway", "InstrumentedLogin"]

T = TypeVar("T")


class CallRecorder(Protocol):
    def record_call(self, operation: str, outcome: str, seconds: float) -> None: ...


async def _timed(recorder: CallRecorder, operation: str, call: Callable[[], Awaitable[T]]) -> T:
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await call()
    except (Refused, LoginRejected):
        outcome = "refused"
        raise
    except OutcomeUnknown:
        outcome = "unknown"
        raise
    finally:
        recorder.record_call(operation, outcome, time.perf_counter() - started)


class InstrumentedGateway:
    """A ``PaymentGateway`` that reports each call to a ``CallRecorder``."""

    def __init__(self, inner: PaymentGateway, recorder: CallRecorder) -> None:
        self.inner = inner
        self.api_version = inner.api_version
        self.appid = inner.appid
        self.mchid = inner.mchid
        self._recorder = recorder

    def _op(self, name: str) -> str:
        return f"{self.api_version}.{name}"

    async def prepay(self, command: PrepayCommand) -> str:
        return await _timed(self._recorder, self._op("prepay"), lambda: self.inner.prepay(command))

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        return self.inner.payment_params(prepay_id)

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        return await _timed(
            self._recorder, self._op("query"), lambda: self.inner.query_trade(out_trade_no)
        )

    async def close(self, out_trade_no: str) -> None:
        await _timed(self._recorder, self._op("close"), lambda: self.inner.close(out_trade_no))

    async def refund(self, command: RefundCommand) -> RefundSnapshot:
        return await _timed(self._recorder, self._op("refund"), lambda: self.inner.refund(command))

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot:
        return await _timed(
            self._recorder,
            self._op("query_refund"),
            lambda: self.inner.query_refund(out_refund_no, out_trade_no),
        )

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        return await self.inner.verify_trade_notification(headers, body)

    async def verify_refund_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedRefundNotice:
        return await self.inner.verify_refund_notification(headers, body)

    def ack(self) -> NotifyReply:
        return self.inner.ack()

    def nack(self, status_code: int, message: NackMessage) -> NotifyReply:
        return self.inner.nack(status_code, message)

    def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        return self.inner.bill_entries(bill_date)


class InstrumentedLogin:
    def __init__(self, inner: LoginGateway, recorder: CallRecorder) -> None:
        self.inner = inner
        self._recorder = recorder

    async def code2session(self, code: str) -> LoginIdentity:
        return await _timed(
            self._recorder, "login.code2session", lambda: self.inner.code2session(code)
        )
