"""Receiving WeChat's payment and refund notifications (v3 and v2).

Order of work: verify over the raw bytes (signature, time window, decryption) -> find our
record -> cross-check -> apply under the store's exactly-once guard -> record the notification
-> commit -> only then acknowledge. Failures answer so that WeChat does the right thing:
verification failure 4xx (and nothing changes), our own failure 5xx (WeChat retries),
duplicate 2xx (no change). Every notification is stored, verified or not; an unverified one
only as a bounded record (``notification_records``). A refusal tells WeChat a fixed message per
kind; the reason goes to the (rate-limited) log and the stored record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from mppay.domain.events import OrderEventType
from mppay.store.models import NotificationRow
from mppay.usecases.context import ServiceContext
from mppay.usecases.notification_records import notification_row
from mppay.usecases.ports import NackMessage, NotificationRejected, NotifyReply, PaymentGateway
from mppay.usecases.refund_sync import RefundApplyResult, apply_refund_snapshot
from mppay.usecases.trade_sync import TradeApplyResult, apply_trade_snapshot

__all__ = ["NotificationOutcome", "receive_refund_notification", "receive_trade_notification"]

log = logging.getLogger(__name__)

# What WeChat is told per kind of refusal; the detail stays in our log and stored record.
_REFUSALS: dict[str, tuple[int, NackMessage]] = {
    "verification": (401, "signature invalid"),
    "malformed": (400, "malformed"),
}


@dataclass(frozen=True)
class NotificationOutcome:
    outcome: str
    reply: NotifyReply


def _row(
    ctx: ServiceContext,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    verified: bool,
    outcome: str,
    reason: str | None = None,
    notification_id: str | None = None,
    event_type: str | None = None,
    out_trade_no: str | None = None,
    out_refund_no: str | None = None,
    order_id: str | None = None,
) -> NotificationRow:
    return notification_row(
        received_at=ctx.clock.now(),
        api_version=api_version,
        channel=channel,
        headers=headers,
        body=body,
        verified=verified,
        outcome=outcome,
        reason=reason,
        notification_id=notification_id,
        event_type=event_type,
        out_trade_no=out_trade_no,
        out_refund_no=out_refund_no,
        order_id=order_id,
    )


async def _store_only(ctx: ServiceContext, row: NotificationRow) -> None:
    async with ctx.uow() as uow:
        await uow.notifications.add(row)
        await uow.commit()


async def _reject(
    ctx: ServiceContext,
    gateway: PaymentGateway,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    exc: NotificationRejected,
) -> NotificationOutcome:
    ctx.rejections.rejected(api_version, channel, exc.reason)
    await _store_only(
        ctx,
        _row(
            ctx,
            api_version,
            channel,
            headers,
            body,
            verified=False,
            outcome="rejected",
            reason=exc.reason,
        ),
    )
    ctx.observer.notification(channel, "rejected")
    status, message = _REFUSALS.get(exc.kind, _REFUSALS["verification"])
    return NotificationOutcome("rejected", gateway.nack(status, message))


async def receive_trade_notification(
    ctx: ServiceContext, api_version: str, headers: Mapping[str, str], body: bytes
) -> NotificationOutcome:
    """Handle a payment notification; the reply is what to send back to WeChat."""
    gateway = ctx.gateway_for(api_version)
    try:
        notice = await gateway.verify_trade_notification(headers, body)
    except NotificationRejected as exc:
        return await _reject(ctx, gateway, api_version, "payment", headers, body, exc)

    snapshot = notice.snapshot
    async with ctx.uow() as uow:
        order = await uow.orders.get_by_out_trade_no(snapshot.out_trade_no, with_items=False)
        if order is not None:
            order = await uow.orders.get(order.id, for_update=True, with_items=False)
        if order is None:
            await uow.notifications.add(
                _row(
                    ctx,
                    api_version,
                    "payment",
                    headers,
                    body,
                    verified=True,
                    outcome="unknown_order",
                    reason=f"no order with out_trade_no {snapshot.out_trade_no}",
                    notification_id=notice.notification_id,
                    event_type=notice.event_type,
                    out_trade_no=snapshot.out_trade_no,
                )
            )
            await uow.commit()
            ctx.observer.notification("payment", "unknown_order")
            return NotificationOutcome("unknown_order", gateway.nack(404, "unknown order"))

        result = await apply_trade_snapshot(
            ctx, uow, order, snapshot, source=f"notify_{api_version}"
        )
        await uow.notifications.add(
            _row(
                ctx,
                api_version,
                "payment",
                headers,
                body,
                verified=True,
                outcome=result.value,
                notification_id=notice.notification_id,
                event_type=notice.event_type,
                out_trade_no=snapshot.out_trade_no,
                order_id=order.id,
            )
        )
        event = (
            OrderEventType.NOTIFICATION_DUPLICATE
            if result in (TradeApplyResult.ALREADY_PAID, TradeApplyResult.ALREADY_CLOSED)
            else OrderEventType.NOTIFICATION_RECEIVED
        )
        await uow.events.append(
            order.id,
            event,
            at=ctx.clock.now(),
            source=f"notify_{api_version}",
            detail={
                "notification_id": notice.notification_id,
                "event_type": notice.event_type,
                "result": result.value,
            },
        )
        await uow.commit()
    ctx.observer.notification("payment", result.value)
    # A mismatch is recorded and flagged for a human; WeChat repeating it would not help.
    return NotificationOutcome(result.value, gateway.ack())


async def receive_refund_notification(
    ctx: ServiceContext, api_version: str, headers: Mapping[str, str], body: bytes
) -> NotificationOutcome:
    """Handle a refund notification (REFUND.SUCCESS / CLOSED / ABNORMAL, or v2 refund_status)."""
    gateway = ctx.gateway_for(api_version)
    try:
        notice = await gateway.verify_refund_notification(headers, body)
    except NotificationRejected as exc:
        return await _reject(ctx, gateway, api_version, "refund", headers, body, exc)

    snapshot = notice.snapshot
    async with ctx.uow() as uow:
        refund = await uow.refunds.get_by_out_refund_no(snapshot.out_refund_no)
        order = await uow.orders.get(refund.order_id, for_update=True) if refund else None
        if refund is None or order is None:
            await uow.notifications.add(
                _row(
                    ctx,
                    api_version,
                    "refund",
                    headers,
                    body,
                    verified=True,
                    outcome="unknown_refund",
                    reason=f"no refund with out_refund_no {snapshot.out_refund_no}",
                    notification_id=notice.notification_id,
                    event_type=notice.event_type,
                    out_trade_no=snapshot.out_trade_no,
                    out_refund_no=snapshot.out_refund_no,
                )
            )
            await uow.commit()
            ctx.observer.notification("refund", "unknown_refund")
            return NotificationOutcome("unknown_refund", gateway.nack(404, "unknown refund"))

        result = await apply_refund_snapshot(
            ctx, uow, order, refund, snapshot, source=f"notify_{api_version}"
        )
        await uow.notifications.add(
            _row(
                ctx,
                api_version,
                "refund",
                headers,
                body,
                verified=True,
                outcome=result.value,
                notification_id=notice.notification_id,
                event_type=notice.event_type,
                out_trade_no=order.out_trade_no,
                out_refund_no=snapshot.out_refund_no,
                order_id=order.id,
            )
        )
        await uow.events.append(
            order.id,
            OrderEventType.NOTIFICATION_DUPLICATE
            if result is RefundApplyResult.DUPLICATE
            else OrderEventType.NOTIFICATION_RECEIVED,
            at=ctx.clock.now(),
            source=f"notify_{api_version}",
            detail={
                "notification_id": notice.notification_id,
                "event_type": notice.event_type,
                "out_refund_no": snapshot.out_refund_no,
                "result": result.value,
            },
        )
        await uow.commit()
    ctx.observer.notification("refund", result.value)
    return NotificationOutcome(result.value, gateway.ack())


async def record_failed_notification(
    ctx: ServiceContext,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    reason: str,
) -> None:
    """Best-effort audit row when handling crashed (the reply is a 5xx, so WeChat retries)."""
    try:
        await _store_only(
            ctx,
            _row(
                ctx,
                api_version,
                channel,
                headers,
                body,
                verified=False,
                outcome="error",
                reason=reason,
            ),
        )
    except Exception:  # the database may be what failed; the 5xx still goes out
        log.exception("could not record a failed %s notification", channel)
    ctx.observer.notification(channel, "error")
