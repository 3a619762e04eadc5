"""The payment gateway port over WeChat Pay API v3 (JSON + RSA)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Literal

from mppay.adapters.bills import bill_entries
from mppay.adapters.errors import to_port_error, wechat_call
from mppay.adapters.snapshots import refund_from_v3, trade_from_v3
from mppay.domain.wechat_facts import BillEntry, RefundSnapshot, TradeSnapshot
from mppay.usecases.ports import (
    NackMessage,
    NoBill,
    NotificationRejected,
    NotifyReply,
    PrepayCommand,
    RefundCommand,
    VerifiedRefundNotice,
    VerifiedTradeNotice,
)
from mppay.wechatpay import errors as wx
from mppay.wechatpay.v3 import (
    Amount,
    JsapiPrepayRequest,
    Payer,
    RefundAmountRequest,
    RefundEvent,
    RefundRequest,
    SceneInfo,
    TransactionEvent,
    WeChatPayV3Client,
)

__all__ = ["WeChatPayV3Gateway"]

# No trades that day, or the bill is not generated yet (WeChat builds it after ~10:00 next day).
_NO_BILL_CODES = frozenset({"NO_STATEMENT_EXIST", "STATEMENT_CREATING"})


class WeChatPayV3Gateway:
    """One merchant through API v3. The client is owned by the caller (bootstrap)."""

    api_version: Literal["v3"] = "v3"

    def __init__(self, client: WeChatPayV3Client) -> None:
        self.client = client
        self.appid = client.config.appid
        self.mchid = client.config.mchid

    async def prepay(self, command: PrepayCommand) -> str:
        request = JsapiPrepayRequest(
            description=command.description,
            out_trade_no=command.out_trade_no,
            notify_url=command.notify_url,
            time_expire=command.time_expire,
            amount=Amount(total=command.amount_total_fen, currency=command.currency),
            payer=Payer(openid=command.payer_openid),
            scene_info=SceneInfo(payer_client_ip=command.client_ip),
        )
        response = await wechat_call(self.client.prepay_jsapi(request))
        return response.prepay_id

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        return self.client.request_payment_params(prepay_id).to_dict()

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        return trade_from_v3(
            await wechat_call(self.client.query_order_by_out_trade_no(out_trade_no))
        )

    async def close(self, out_trade_no: str) -> None:
        await wechat_call(self.client.close_order(out_trade_no))

    async def refund(self, command: RefundCommand) -> RefundSnapshot:
        request = RefundRequest(
            out_trade_no=command.out_trade_no,
            out_refund_no=command.out_refund_no,
            reason=command.reason,
            notify_url=command.notify_url,
            amount=RefundAmountRequest(
                refund=command.refund_fen, total=command.total_fen, currency=command.currency
            ),
        )
        return refund_from_v3(await wechat_call(self.client.create_refund(request)))

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot:
        return refund_from_v3(await wechat_call(self.client.query_refund(out_refund_no)))

    async def _parse(
        self, headers: Mapping[str, str], body: bytes
    ) -> TransactionEvent | RefundEvent:
        try:
            return await self.client.parse_notification(headers, body)
        except wx.VerificationError as exc:
            raise NotificationRejected(f"{type(exc).__name__}: {exc.message}") from exc
        except (wx.MalformedMessageError, wx.DecryptionError) as exc:
            raise NotificationRejected(
                f"{type(exc).__name__}: {exc.message}", kind="malformed"
            ) from exc

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        event = await self._parse(headers, body)
        if not isinstance(event, TransactionEvent):
            raise NotificationRejected(
                f"{event.event_type} sent to the payment endpoint", kind="malformed"
            )
        return VerifiedTradeNotice(event.id, event.event_type, trade_from_v3(event.resource))

    async def verify_refund_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedRefundNotice:
        event = await self._parse(headers, body)
        if not isinstance(event, RefundEvent):
            raise NotificationRejected(
                f"{event.event_type} sent to the refund endpoint", kind="malformed"
            )
        return VerifiedRefundNotice(event.id, event.event_type, refund_from_v3(event.resource))

    def ack(self) -> NotifyReply:
        return NotifyReply(204, b"", "application/json")

    def nack(self, status_code: int, message: NackMessage) -> NotifyReply:
        body = json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False)
        return NotifyReply(status_code, body.encode("utf-8"), "application/json")

    def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        return bill_entries(self._bill_chunks(bill_date))

    async def _bill_chunks(self, bill_date: date) -> AsyncIterator[bytes]:
        try:
            bill = await self.client.trade_bill(bill_date)
            async for chunk in self.client.iter_bill(bill):
                yield chunk
        except wx.WeChatPayError as exc:
            if exc.code in _NO_BILL_CODES or isinstance(exc, wx.ResourceNotFoundError):
                raise NoBill(exc.message, code=exc.code) from exc
            raise to_port_error(exc) from exc
