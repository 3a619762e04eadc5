"""The payment gateway port over legacy WeChat Pay API v2 (XML + MD5 / HMAC-SHA256)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Literal

from mppay.adapters.bills import bill_entries
from mppay.adapters.errors import to_port_error, wechat_call
from mppay.adapters.snapshots import (
    refund_from_v2_notification,
    refund_from_v2_record,
    trade_from_v2_notification,
    trade_from_v2_order,
)
from mppay.domain.checks import missing_refund_fields
from mppay.domain.timing import V2_MIN_TIME_EXPIRE_WINDOW
from mppay.domain.wechat_facts import BillEntry, RefundSnapshot, TradeSnapshot
from mppay.usecases.ports import (
    GatewayError,
    NackMessage,
    NoBill,
    NotificationRejected,
    NotifyReply,
    OutcomeUnknown,
    PrepayCommand,
    RefundCommand,
    UnknownAtWeChat,
    VerifiedRefundNotice,
    VerifiedTradeNotice,
)
from mppay.wechatpay import errors as wx
from mppay.wechatpay.clock import Clock
from mppay.wechatpay.config import MerchantConfig
from mppay.wechatpay.v2 import (
    ACK_SUCCESS,
    UnifiedOrderRequest,
    V2RefundRequest,
    WeChatPayV2Client,
    ack_fail,
    parse_payment_notification,
    parse_refund_notification,
)

__all__ = ["WeChatPayV2Gateway"]


class WeChatPayV2Gateway:
    """One merchant through API v2. The client is owned by the caller (bootstrap)."""

    api_version: Literal["v2"] = "v2"

    def __init__(self, client: WeChatPayV2Client, config: MerchantConfig, clock: Clock) -> None:
        self.client = client
        self.config = config
        self.appid = self.config.appid
        self.mchid = self.config.mchid
        self._clock = clock

    def _time_expire(self, time_expire: datetime) -> datetime | None:
        # v2 rejects a time_expire less than 5 minutes away; leave it out then (WeChat's own
        # 2-hour default applies) and let expiry close the order, which checks payment first.
        if time_expire - self._clock.now() < V2_MIN_TIME_EXPIRE_WINDOW:
            return None
        return time_expire

    async def prepay(self, command: PrepayCommand) -> str:
        request = UnifiedOrderRequest(
            body=command.description,
            out_trade_no=command.out_trade_no,
            total_fee=command.amount_total_fen,
            spbill_create_ip=command.client_ip,
            notify_url=command.notify_url,
            openid=command.payer_openid,
            time_expire=self._time_expire(command.time_expire),
            fee_type=command.currency,
        )
        return (await wechat_call(self.client.unified_order(request))).prepay_id

    def payment_params(self, prepay_id: str) -> dict[str, str]:
        return self.client.request_payment_params(prepay_id).to_dict()

    async def query_trade(self, out_trade_no: str) -> TradeSnapshot:
        order = await wechat_call(self.client.order_query(out_trade_no=out_trade_no))
        return trade_from_v2_order(order, appid=self.appid, mchid=self.mchid)

    async def close(self, out_trade_no: str) -> None:
        await wechat_call(self.client.close_order(out_trade_no))

    async def refund(self, command: RefundCommand) -> RefundSnapshot:
        request = V2RefundRequest(
            out_refund_no=command.out_refund_no,
            out_trade_no=command.out_trade_no,
            total_fee=command.total_fen,
            refund_fee=command.refund_fen,
            refund_desc=command.reason,
            notify_url=command.notify_url,
        )
        await wechat_call(self.client.refund(request))
        # v2's refund answer means "accepted"; the status comes from the refund query.
        return await self.query_refund(command.out_refund_no, command.out_trade_no)

    async def query_refund(self, out_refund_no: str, out_trade_no: str) -> RefundSnapshot:
        result = await wechat_call(self.client.refund_query(out_refund_no=out_refund_no))
        for record in result.refunds:
            if record.out_refund_no == out_refund_no:
                return refund_from_v2_record(
                    record, out_trade_no=result.out_trade_no, total_fen=result.total_fee
                )
        raise UnknownAtWeChat(f"refund query answer does not list {out_refund_no}")

    async def verify_trade_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedTradeNotice:
        try:
            notice = parse_payment_notification(body, config=self.config)
        except wx.VerificationError as exc:
            raise NotificationRejected(f"{type(exc).__name__}: {exc.message}") from exc
        except wx.ProtocolError as exc:
            raise NotificationRejected(
                f"{type(exc).__name__}: {exc.message}", kind="malformed"
            ) from exc
        return VerifiedTradeNotice(
            None, f"v2.payment.{notice.result_code}", trade_from_v2_notification(notice)
        )

    async def verify_refund_notification(
        self, headers: Mapping[str, str], body: bytes
    ) -> VerifiedRefundNotice:
        try:
            notice = parse_refund_notification(body, config=self.config)
        except wx.VerificationError as exc:
            raise NotificationRejected(f"{type(exc).__name__}: {exc.message}") from exc
        except wx.ProtocolError as exc:
            raise NotificationRejected(
                f"{type(exc).__name__}: {exc.message}", kind="malformed"
            ) from exc
        event_type = f"v2.refund.{notice.refund_status}"
        if notice.is_success:
            stated = refund_from_v2_notification(notice)
            if missing_refund_fields(stated):
                # A SUCCESS without its amount or refund_id goes to review as stated; querying
                # would only confirm a statement that must not move money.
                return VerifiedRefundNotice(None, event_type, stated)
        # req_info is AES-ECB without integrity (spec 8.13): act on WeChat's signed refund query
        # answer, not on the decrypted notification itself.
        try:
            snapshot = await self.query_refund(notice.out_refund_no, notice.out_trade_no)
        except UnknownAtWeChat as exc:
            raise NotificationRejected(
                f"refund {notice.out_refund_no} in the notification is unknown to WeChat's refund query"
            ) from exc
        except GatewayError as exc:
            raise OutcomeUnknown(
                f"could not confirm the refund notification: {exc.message}"
            ) from exc
        return VerifiedRefundNotice(None, event_type, snapshot)

    def ack(self) -> NotifyReply:
        return NotifyReply(200, ACK_SUCCESS, "application/xml")

    def nack(self, status_code: int, message: NackMessage) -> NotifyReply:
        return NotifyReply(status_code, ack_fail(message), "application/xml")

    def bill_entries(self, bill_date: date) -> AsyncIterator[BillEntry]:
        return bill_entries(self._bill_chunks(bill_date))

    async def _bill_chunks(self, bill_date: date) -> AsyncIterator[bytes]:
        try:
            content = await self.client.download_bill(bill_date, tar_type="GZIP")
        except wx.WeChatPayError as exc:
            if isinstance(exc, wx.ResourceNotFoundError):
                raise NoBill(exc.message, code=exc.code) from exc
            raise to_port_error(exc) from exc
        yield content
