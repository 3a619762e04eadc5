"""The shipping ports over ``mppay.wechatpay.miniprogram``.

Error mapping: 10060001 -> ``NotYetVisible``; a rejected token after the client's one
refresh, rate limits, 5xx, time-outs and answers we cannot read -> ``OutcomeUnknown`` (retry);
every other errcode -> ``Refused`` with the errcode as ``code``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from mppay.domain.shipping import ShipmentPlan
from mppay.usecases.ports import GatewayError, NotificationRejected, OutcomeUnknown, Refused
from mppay.usecases.shipping_events import push_body
from mppay.usecases.shipping_ports import NotYetVisible, PushEvent, ShipmentUpload, WeChatShipping
from mppay.wechatpay import errors as wx
from mppay.wechatpay.miniprogram import (
    Contact,
    DeliveryMode,
    LogisticsType,
    MessagePushVerifier,
    MiniProgramServerClient,
    OrderKey,
    Package,
    ShippingInfo,
    ShippingOrder,
)

__all__ = ["MessagePushAdapter", "WeChatShippingGateway"]

_MANAGED_CACHE_SECONDS = 600.0


def _port_error(exc: wx.WeChatPayError) -> GatewayError:
    if isinstance(exc, wx.ShippingRetryLaterError):
        return NotYetVisible(exc.message, code=exc.code)
    if isinstance(
        exc,
        wx.OutcomeUnknownError
        | wx.ProtocolError
        | wx.FrequencyLimitedError
        | wx.AccessTokenRejectedError,
    ):
        return OutcomeUnknown(exc.message, code=exc.code)
    return Refused(exc.message, code=exc.code)


def _info(upload: ShipmentUpload) -> ShippingInfo:
    plan: ShipmentPlan = upload.plan
    packages = tuple(
        Package(
            item_desc=p.item_desc,
            tracking_no=p.tracking_no,
            express_company=p.express_company,
            contact=Contact(receiver_contact=p.receiver_contact) if p.receiver_contact else None,
        )
        for p in plan.packages
    )
    return ShippingInfo(
        order_key=OrderKey(transaction_id=upload.transaction_id),
        logistics_type=LogisticsType(int(plan.logistics_type)),
        delivery_mode=DeliveryMode.SPLIT if plan.split else DeliveryMode.UNIFIED,
        packages=packages,
        payer_openid=upload.payer_openid,
        upload_time=upload.upload_time,
        is_all_delivered=plan.is_all_delivered if plan.split else None,
    )


def _shipping(order: ShippingOrder) -> WeChatShipping:
    return WeChatShipping(
        transaction_id=order.transaction_id,
        out_trade_no=order.merchant_trade_no,
        order_state=order.order_state,
        tracking_nos=tuple(p.tracking_no for p in order.packages if p.tracking_no),
    )


class WeChatShippingGateway:
    """``ShippingGateway`` over one ``MiniProgramServerClient``."""

    def __init__(self, client: MiniProgramServerClient) -> None:
        self.client = client
        self._managed: tuple[float, bool] | None = None

    async def upload(self, upload: ShipmentUpload) -> None:
        try:
            info = _info(upload)
        except ValueError as exc:
            raise Refused(f"the shipment breaks a rule: {exc}", code="INVALID_SHIPMENT") from exc
        try:
            await self.client.upload_shipping_info(info)
        except wx.WeChatPayError as exc:
            raise _port_error(exc) from exc

    async def is_trade_managed(self) -> bool:
        # Asked for every paid order: a management switch is rare, so the answer is kept
        # for ten minutes per process.
        now = time.monotonic()
        if self._managed is not None and now - self._managed[0] < _MANAGED_CACHE_SECONDS:
            return self._managed[1]
        try:
            managed = await self.client.is_trade_managed()
        except wx.WeChatPayError as exc:
            raise _port_error(exc) from exc
        self._managed = (now, managed)
        return managed

    async def get_order(self, transaction_id: str) -> WeChatShipping:
        try:
            order = await self.client.get_order(OrderKey(transaction_id=transaction_id))
        except wx.WeChatPayError as exc:
            raise _port_error(exc) from exc
        return _shipping(order)

    async def list_orders(
        self, *, last_index: str | None
    ) -> tuple[list[WeChatShipping], str, bool]:
        try:
            page = await self.client.get_order_list(last_index=last_index)
        except wx.WeChatPayError as exc:
            raise _port_error(exc) from exc
        return [_shipping(o) for o in page.orders], page.last_index, page.has_more


class MessagePushAdapter:
    """``PushVerifier`` over ``MessagePushVerifier``: refusals become ``NotificationRejected``."""

    def __init__(self, verifier: MessagePushVerifier) -> None:
        self.verifier = verifier

    def check_url(self, query: Mapping[str, str]) -> str:
        try:
            return self.verifier.check_url(query)
        except wx.WeChatPayError as exc:
            raise NotificationRejected(f"URL check refused: {exc.message}") from exc

    def open(self, query: Mapping[str, str], body: bytes) -> PushEvent:
        try:
            message = self.verifier.open(query, body)
        except (wx.VerificationError, wx.DecryptionError) as exc:
            raise NotificationRejected(f"push refused: {exc.message}") from exc
        except wx.WeChatPayError as exc:
            raise NotificationRejected(f"push unreadable: {exc.message}", kind="malformed") from exc
        return PushEvent(
            event=message.event,
            dedupe_key=message.dedupe_key,
            transaction_id=message.text("transaction_id"),
            fields=dict(message.fields),
            body=push_body(message.fields),
        )
