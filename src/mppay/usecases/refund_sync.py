"""Apply what WeChat says about a refund: one path for refund notifications, the create
response, refund queries and the refund sync job.

Money moves exactly once per refund because each effect is tied to a refund status change
made by a conditional UPDATE: SUCCESS adds to ``refunded_fen``; CLOSED releases the
reservation taken when the refund was requested.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from mppay.domain.checks import ExpectedRefund, refund_mismatches
from mppay.domain.events import OrderEventType
from mppay.domain.states import OrderStatus, RefundStatus, refund_sources_for, status_after_refunds
from mppay.domain.wechat_facts import RefundSnapshot
from mppay.store.models import OrderRow, RefundRow
from mppay.store.uow import UnitOfWork
from mppay.usecases.context import ServiceContext

__all__ = ["RefundApplyResult", "apply_refund_snapshot"]

log = logging.getLogger(__name__)

_EVENT_FOR = {
    RefundStatus.SUCCESS: OrderEventType.REFUND_SUCCEEDED,
    RefundStatus.CLOSED: OrderEventType.REFUND_CLOSED,
    RefundStatus.ABNORMAL: OrderEventType.REFUND_ABNORMAL,
}


class RefundApplyResult(StrEnum):
    SUCCEEDED = "applied_success"
    CLOSED = "applied_closed"
    ABNORMAL = "applied_abnormal"
    STILL_PROCESSING = "processing"
    DUPLICATE = "duplicate"
    MISMATCH = "mismatch"
    CONFLICT = "conflict"


async def apply_refund_snapshot(
    ctx: ServiceContext,
    uow: UnitOfWork,
    order: OrderRow,
    refund: RefundRow,
    snapshot: RefundSnapshot,
    *,
    source: str,
) -> RefundApplyResult:
    """Bring ``refund`` (and its order's refunded amount and status) in line with ``snapshot``.

    Runs inside the caller's transaction and never commits. A statement that contradicts the
    refund, or a SUCCESS without its amount or refund_id, moves no money: both refund and order
    are flagged for a human.
    """
    now = ctx.clock.now()
    expected = ExpectedRefund(refund.out_refund_no, order.out_trade_no, refund.amount_fen)
    mismatches = refund_mismatches(expected, snapshot)
    if mismatches:
        reason = "; ".join(str(m) for m in mismatches)
        await uow.refunds.update_fields(
            refund.id, now, needs_attention=True, error_message=f"{source}: {reason}"
        )
        await uow.orders.flag_for_review(order.id, f"refund {refund.out_refund_no}: {reason}", now)
        await uow.events.append(
            order.id,
            OrderEventType.MISMATCH,
            at=now,
            source=source,
            detail={
                "out_refund_no": refund.out_refund_no,
                "mismatches": [m.__dict__ for m in mismatches],
            },
        )
        ctx.observer.alert(
            "refund statement contradicts the refund", order_id=order.id, mismatch=reason
        )
        return RefundApplyResult.MISMATCH

    # WeChat knows the refund, whatever our submission state said (e.g. an answer that was lost).
    accepted: dict[str, object] = {"submit_state": "ACCEPTED"}
    if snapshot.refund_id:
        accepted["refund_id"] = snapshot.refund_id
    await uow.refunds.update_fields(refund.id, now, **accepted)

    target = snapshot.status
    if target is RefundStatus.PROCESSING:
        return RefundApplyResult.STILL_PROCESSING
    extra: dict[str, object] = {}
    if target is RefundStatus.SUCCESS:
        extra["succeeded_at"] = snapshot.success_time or now
    if target is RefundStatus.ABNORMAL:
        extra["needs_attention"] = True
    moved = await uow.refunds.transition(
        refund.id, to=target, from_states=refund_sources_for(target), now=now, **extra
    )
    if not moved:
        current = await uow.refunds.get(refund.id)
        assert current is not None
        if current.status == target:
            return RefundApplyResult.DUPLICATE
        reason = f"{source}: WeChat reports refund {target} but it is {current.status} here"
        await uow.refunds.update_fields(refund.id, now, needs_attention=True, error_message=reason)
        await uow.events.append(
            order.id, OrderEventType.MISMATCH, at=now, source=source, detail={"conflict": reason}
        )
        ctx.observer.alert("conflicting refund statement", order_id=order.id, detail=reason)
        return RefundApplyResult.CONFLICT

    detail = {
        "out_refund_no": refund.out_refund_no,
        "amount_fen": refund.amount_fen,
        "refund_id": snapshot.refund_id,
    }
    await uow.events.append(order.id, _EVENT_FOR[target], at=now, source=source, detail=detail)
    if target is RefundStatus.SUCCESS:
        await uow.orders.add_refunded(order.id, refund.amount_fen, now)
        fresh = await uow.orders.get(order.id)
        assert fresh is not None
        new_status = status_after_refunds(fresh.amount_total_fen, fresh.refunded_fen)
        await uow.orders.transition(
            order.id,
            to=new_status,
            from_states=[OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED],
            now=now,
        )
        return RefundApplyResult.SUCCEEDED
    if target is RefundStatus.CLOSED:
        await uow.orders.release_refund(order.id, refund.amount_fen, now)
        log.warning(
            "refund %s closed by WeChat (failed); reservation released", refund.out_refund_no
        )
        return RefundApplyResult.CLOSED
    ctx.observer.alert(
        "refund ABNORMAL: resolve it in the WeChat Pay merchant portal",
        order_id=order.id,
        out_refund_no=refund.out_refund_no,
    )
    return RefundApplyResult.ABNORMAL
