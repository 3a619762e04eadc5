"""Receiving WeChat's payment and refund notifications (v3 and v2).

Both channels run one skeleton: verify over the raw bytes (signature, time window,
decryption) -> lock our order with one statement -> cross-check and apply under the store's
exactly-once guard -> record the notification and its event -> commit. The use case returns
an ``Outcome``; the web edge turns it into the HTTP answer (``mppay.web.errors``), so nothing
is acknowledged before the commit. Every notification is stored, verified or not; an
unverified one only as a bounded record (``notification_records``), its reason going to the
(rate-limited) log and the stored record, never to WeChat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from mppay.domain.events import OrderEventType
from mppay.store.models import NotificationRow
from mppay.store.uow import UnitOfWork
from mppay.usecases.context import ServiceContext
from mppay.usecases.notification_records import notification_row
from mppay.usecases.ports import (
    NotificationRejected,
    PaymentGateway,
    VerifiedRefundNotice,
    VerifiedTradeNotice,
)
from mppay.usecases.refund_sync import RefundApplyResult, apply_refund_snapshot
from mppay.usecases.trade_sync import TradeApplyResult, apply_trade_snapshot

__all__ = [
    "NotificationOutcome",
    "Outcome",
    "receive_refund_notification",
    "receive_trade_notification",
    "record_failed_notification",
]

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What became of one notification; the web edge's table maps each to an answer."""

    APPLIED = "applied"  # the statement was taken (or there was nothing to change yet)
    DUPLICATE = "duplicate"  # already applied: a 2xx no-op
    REJECTED_MALFORMED = "rejected-malformed"
    REJECTED_SIGNATURE = "rejected-signature"  # signature, time window, decryption
    UNKNOWN_ORDER = "unknown-order"
    UNKNOWN_REFUND = "unknown-refund"
    MISMATCH_FLAGGED = "mismatch-flagged"  # contradicts our record: flagged for a human
    OUR_FAILURE = "our-failure"  # we could not handle it: WeChat must send it again


@dataclass(frozen=True)
class NotificationOutcome:
    """``kind`` decides the answer; ``outcome`` is what the stored record says
    (``applied_paid``, ``duplicate``, ``mismatch``, ``rejected``, ``unknown_order``, ...)."""

    kind: Outcome
    outcome: str


_REJECTED = {"verification": Outcome.REJECTED_SIGNATURE, "malformed": Outcome.REJECTED_MALFORMED}

_KIND_OF_RESULT: dict[str, Outcome] = {
    TradeApplyResult.ALREADY_PAID: Outcome.DUPLICATE,
    TradeApplyResult.ALREADY_CLOSED: Outcome.DUPLICATE,
    TradeApplyResult.MISMATCH: Outcome.MISMATCH_FLAGGED,
    TradeApplyResult.CONFLICT: Outcome.MISMATCH_FLAGGED,
    RefundApplyResult.DUPLICATE: Outcome.DUPLICATE,
    RefundApplyResult.MISMATCH: Outcome.MISMATCH_FLAGGED,
    RefundApplyResult.CONFLICT: Outcome.MISMATCH_FLAGGED,
}

N = TypeVar("N", VerifiedTradeNotice, VerifiedRefundNotice)


@dataclass(frozen=True)
class _Applied:
    """What one channel's apply step did to a locked order (``result`` is the stored outcome)."""

    order_id: str
    out_trade_no: str
    result: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Channel(Generic[N]):
    name: str  # payment | refund, as stored
    noun: str  # order | refund: what is looked up
    number_name: str  # out_trade_no | out_refund_no
    unknown: Outcome
    verify: Callable[[PaymentGateway, Mapping[str, str], bytes], Awaitable[N]]
    # Lock the order (one statement) and apply; None when there is no such order / refund.
    apply: Callable[[ServiceContext, UnitOfWork, N, str], Awaitable[_Applied | None]]
    number: Callable[[N], str]
    out_refund_no: Callable[[N], str | None]
    out_trade_no: Callable[[N], str | None]


async def _apply_trade(
    ctx: ServiceContext, uow: UnitOfWork, notice: VerifiedTradeNotice, source: str
) -> _Applied | None:
    order = await uow.orders.lock_by_out_trade_no(notice.snapshot.out_trade_no)
    if order is None:
        return None
    result = await apply_trade_snapshot(ctx, uow, order, notice.snapshot, source=source)
    return _Applied(order.id, order.out_trade_no, result.value)


async def _apply_refund(
    ctx: ServiceContext, uow: UnitOfWork, notice: VerifiedRefundNotice, source: str
) -> _Applied | None:
    out_refund_no = notice.snapshot.out_refund_no
    order = await uow.orders.lock_for_refund(out_refund_no)
    # Read under the order's lock, so the refund's state is the one the guard will see.
    refund = await uow.refunds.get_by_out_refund_no(out_refund_no) if order else None
    if order is None or refund is None:
        return None
    result = await apply_refund_snapshot(ctx, uow, order, refund, notice.snapshot, source=source)
    return _Applied(order.id, order.out_trade_no, result.value, {"out_refund_no": out_refund_no})


async def _verify_trade(
    gateway: PaymentGateway, headers: Mapping[str, str], body: bytes
) -> VerifiedTradeNotice:
    return await gateway.verify_trade_notification(headers, body)


async def _verify_refund(
    gateway: PaymentGateway, headers: Mapping[str, str], body: bytes
) -> VerifiedRefundNotice:
    return await gateway.verify_refund_notification(headers, body)


_PAYMENTS: _Channel[VerifiedTradeNotice] = _Channel(
    name="payment",
    noun="order",
    number_name="out_trade_no",
    unknown=Outcome.UNKNOWN_ORDER,
    verify=_verify_trade,
    apply=_apply_trade,
    number=lambda notice: notice.snapshot.out_trade_no,
    out_refund_no=lambda notice: None,
    out_trade_no=lambda notice: notice.snapshot.out_trade_no,
)
_REFUNDS: _Channel[VerifiedRefundNotice] = _Channel(
    name="refund",
    noun="refund",
    number_name="out_refund_no",
    unknown=Outcome.UNKNOWN_REFUND,
    verify=_verify_refund,
    apply=_apply_refund,
    number=lambda notice: notice.snapshot.out_refund_no,
    out_refund_no=lambda notice: notice.snapshot.out_refund_no,
    out_trade_no=lambda notice: notice.snapshot.out_trade_no,
)


async def receive_trade_notification(
    ctx: ServiceContext, api_version: str, headers: Mapping[str, str], body: bytes
) -> NotificationOutcome:
    """Handle a payment notification (TRANSACTION.SUCCESS, or v2 result_code)."""
    return await _receive(ctx, _PAYMENTS, api_version, headers, body)


async def receive_refund_notification(
    ctx: ServiceContext, api_version: str, headers: Mapping[str, str], body: bytes
) -> NotificationOutcome:
    """Handle a refund notification (REFUND.SUCCESS / CLOSED / ABNORMAL, or v2 refund_status)."""
    return await _receive(ctx, _REFUNDS, api_version, headers, body)


async def _receive(
    ctx: ServiceContext,
    channel: _Channel[N],
    api_version: str,
    headers: Mapping[str, str],
    body: bytes,
) -> NotificationOutcome:
    gateway = ctx.gateway_for(api_version)
    try:
        notice = await channel.verify(gateway, headers, body)
    except NotificationRejected as exc:
        ctx.rejections.rejected(api_version, channel.name, exc.reason)
        row = _row(ctx, api_version, channel.name, headers, body, verified=False, reason=exc.reason)
        await _store_only(ctx, row)
        ctx.observer.notification(channel.name, "rejected")
        return NotificationOutcome(_REJECTED.get(exc.kind, Outcome.REJECTED_SIGNATURE), "rejected")

    source = f"notify_{api_version}"
    common = {
        "notification_id": notice.notification_id,
        "event_type": notice.event_type,
        "out_refund_no": channel.out_refund_no(notice),
    }
    async with ctx.uow() as uow:
        applied = await channel.apply(ctx, uow, notice, source)
        if applied is None:
            stored = f"unknown_{channel.noun}"
            await uow.notifications.record(
                _row(
                    ctx,
                    api_version,
                    channel.name,
                    headers,
                    body,
                    verified=True,
                    outcome=stored,
                    reason=f"no {channel.noun} with {channel.number_name} {channel.number(notice)}",
                    out_trade_no=channel.out_trade_no(notice),
                    **common,
                )
            )
            await uow.commit()
            ctx.observer.notification(channel.name, stored)
            return NotificationOutcome(channel.unknown, stored)

        await uow.notifications.record(
            _row(
                ctx,
                api_version,
                channel.name,
                headers,
                body,
                verified=True,
                outcome=applied.result,
                out_trade_no=applied.out_trade_no,
                order_id=applied.order_id,
                **common,
            )
        )
        kind = _KIND_OF_RESULT.get(applied.result, Outcome.APPLIED)
        await uow.events.append(
            applied.order_id,
            OrderEventType.NOTIFICATION_DUPLICATE
            if kind is Outcome.DUPLICATE
            else OrderEventType.NOTIFICATION_RECEIVED,
            at=ctx.clock.now(),
            source=source,
            detail={
                "notification_id": notice.notification_id,
                "event_type": notice.event_type,
                **applied.detail,
                "result": applied.result,
            },
        )
        await uow.commit()
    ctx.observer.notification(channel.name, applied.result)
    # A mismatch is recorded and flagged for a human; WeChat repeating it would not help.
    return NotificationOutcome(kind, applied.result)


def _row(
    ctx: ServiceContext,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    verified: bool,
    outcome: str = "rejected",
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
        await uow.notifications.record(row)
        await uow.commit()


async def record_failed_notification(
    ctx: ServiceContext,
    api_version: str,
    channel: str,
    headers: Mapping[str, str],
    body: bytes,
    reason: str,
) -> NotificationOutcome:
    """Best-effort audit row when handling crashed; the answer makes WeChat send it again."""
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
    return NotificationOutcome(Outcome.OUR_FAILURE, "error")
