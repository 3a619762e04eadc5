"""Shipping information (发货信息管理): shipments asked for, uploaded, confirmed, settled.

- ``start_shipping`` (job ``shipping.start``, written with the PAID transition): creates the
  order's shipment; virtual goods are uploaded at once (logistics_type 3), no operator needed.
- ``request_shipment`` (operator, ``POST``/``PUT /admin/api/orders/{id}/shipments``): one
  upload and at most one correction, guarded by a conditional UPDATE on ``requested``;
  ``Idempotency-Key`` replays; the upload itself is a ``shipping.upload`` job.
- ``upload_shipment`` (the job): 10060001, time-outs and 5xx reschedule with back-off; a
  refusal is recorded, alerted and gives the operator's attempt back. Every answer goes on
  the order's timeline.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from mppay.domain.events import OrderEventType
from mppay.domain.shipping import (
    MAX_UPLOADS,
    LogisticsType,
    ShipmentPackage,
    ShipmentPlan,
    ShippingKind,
    ShippingState,
    upload_retry_delay,
)
from mppay.domain.states import OrderStatus
from mppay.store.models import OrderRow, ShipmentRequestRow, ShipmentRow
from mppay.store.repos.shipping import ShippingRepository
from mppay.store.uow import UnitOfWork
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Conflict, NotFound, UpstreamUnavailable
from mppay.usecases.ports import OutcomeUnknown, Refused
from mppay.usecases.shipping_ports import NotYetVisible, ShipmentUpload, ShippingSetup

__all__ = [
    "START_SHIPPING",
    "UPLOAD_SHIPMENT",
    "ShipmentAnswer",
    "enqueue_start_shipping",
    "request_shipment",
    "setup_of",
    "shipping_view",
    "start_shipping",
    "upload_shipment",
]

log = logging.getLogger(__name__)

START_SHIPPING = "shipping.start"
UPLOAD_SHIPMENT = "shipping.upload"
# WeChat's "not updated" answer to an upload_time that is not newer: on a retry of our own
# request it means our earlier attempt (whose answer we lost) was recorded.
_NOT_NEWER = "10060023"


async def enqueue_start_shipping(uow: UnitOfWork, order_id: str, now: datetime) -> None:
    """The one outbox row the PAID transition writes; the job decides the rest."""
    await uow.jobs.enqueue(
        START_SHIPPING, {"order_id": order_id}, run_at=now, now=now,
        dedupe_key=f"{START_SHIPPING}:{order_id}",
    )  # fmt: skip


def setup_of(ctx: ServiceContext) -> ShippingSetup:
    setup = ctx.shipping
    if setup is None:
        raise UpstreamUnavailable("SHIPPING_NOT_CONFIGURED", "shipping is not configured")
    return setup


@dataclass(frozen=True)
class ShipmentAnswer:
    request: ShipmentRequestRow
    shipment: ShipmentRow
    replayed: bool


def shipping_view(order: OrderRow, shipment: ShipmentRow | None) -> dict[str, object]:
    """The ``shipping`` object of the order JSON (state, logistics_type, tracking list)."""
    if shipment is None:
        state = (
            ShippingState.PENDING_UPLOAD
            if OrderStatus(order.status).is_paid
            else ShippingState.NOT_REQUIRED
        )
        return {
            "state": state.value,
            "logistics_type": None,
            "merchant_id": order.mchid,
            "tracking": [],
        }
    packages = shipment.packages.get("packages", [])
    return {
        "state": shipment.state,
        "logistics_type": shipment.logistics_type,
        "merchant_id": order.mchid,
        "tracking": [
            {"express_company": p.get("express_company"), "tracking_no": p.get("tracking_no")}
            for p in packages
            if p.get("tracking_no")
        ],
    }


def _kind(ctx: ServiceContext, order: OrderRow) -> ShippingKind:
    kinds = set()
    for item in order.items:
        product = ctx.catalog.get(item.product_id)
        kinds.add(product.shipping if product is not None else ShippingKind.PHYSICAL)
    return ShippingKind.VIRTUAL if kinds == {ShippingKind.VIRTUAL} else ShippingKind.PHYSICAL


def _summary(order: OrderRow) -> str:
    return "、".join(f"{item.name}*{item.quantity}" for item in order.items)[:120]


def _described(plan: ShipmentPlan, summary: str) -> ShipmentPlan:
    """Packages without an item_desc describe the whole order (WeChat requires one)."""
    packages = tuple(
        p if p.item_desc else ShipmentPackage(summary, p.tracking_no, p.express_company,
                                              p.receiver_contact)
        for p in plan.packages
    )  # fmt: skip
    return ShipmentPlan(plan.logistics_type, plan.split, packages, plan.is_all_delivered)


def _hash(kind: str, plan: ShipmentPlan) -> str:
    text = json.dumps([kind, plan.to_json()], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def start_shipping(ctx: ServiceContext, order_id: str) -> None:
    """Create the shipment of a paid order; virtual goods get their upload queued at once."""
    setup = setup_of(ctx)
    managed = await setup.gateway.is_trade_managed()
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id)
        if order is None or not OrderStatus(order.status).is_paid:
            return
        repo = ShippingRepository(uow.session)
        now = ctx.clock.now()
        kind = _kind(ctx, order)
        state = ShippingState.PENDING_UPLOAD if managed else ShippingState.NOT_REQUIRED
        if not await repo.create(order_id, state=state.value, kind=kind.value, now=now):
            return
        if managed and kind is ShippingKind.VIRTUAL:
            plan = ShipmentPlan(
                LogisticsType.VIRTUAL, split=False, packages=(ShipmentPackage(_summary(order)),)
            ).check()
            await repo.claim_upload(order_id, expected=0, now=now)
            await _queue(uow, repo, order_id, "auto", None, plan, now, source="shipping_job")
        await uow.commit()


async def _queue(
    uow: UnitOfWork,
    repo: ShippingRepository,
    order_id: str,
    kind: str,
    key: str | None,
    plan: ShipmentPlan,
    now: datetime,
    *,
    source: str,
) -> ShipmentRequestRow:
    row = await repo.add_request(
        ShipmentRequestRow(
            order_id=order_id,
            kind=kind,
            idempotency_key=key,
            request_hash=_hash(kind, plan),
            plan=plan.to_json(),
            status="QUEUED",
            upload_time=now,
            attempts=0,
            created_at=now,
        )
    )
    await uow.jobs.enqueue(
        UPLOAD_SHIPMENT, {"request_id": row.id, "step": 0}, run_at=now, now=now,
        dedupe_key=f"{UPLOAD_SHIPMENT}:{row.id}",
    )  # fmt: skip
    await uow.events.append(
        order_id,
        OrderEventType.SHIPPING_REQUESTED,
        at=now,
        source=source,
        detail={"request_id": row.id, "kind": kind, **plan.to_json()},
    )
    return row


async def request_shipment(
    ctx: ServiceContext,
    order_id: str,
    plan: ShipmentPlan,
    *,
    correction: bool,
    idempotency_key: str | None,
) -> ShipmentAnswer:
    """The operator ships (or corrects, once) an order; the upload runs as a job.

    Raises ``NotFound`` (ORDER_NOT_FOUND), ``Conflict`` with ORDER_NOT_PAID,
    SHIPPING_NOT_REQUIRED, ALREADY_SHIPPED, NOT_YET_UPLOADED, CORRECTION_LIMIT_REACHED or
    IDEMPOTENCY_KEY_REUSED, ``ShipmentError`` (422) for a plan that breaks WeChat's rules.
    """
    setup_of(ctx)
    kind = "correct" if correction else "ship"
    async with ctx.uow() as uow:
        order = await uow.orders.get(order_id, for_update=True)
        if order is None:
            raise NotFound("ORDER_NOT_FOUND", f"no order {order_id}")
        plan = _described(plan, _summary(order)).check()
        repo = ShippingRepository(uow.session)
        if idempotency_key is not None:
            earlier = await repo.request_by_key(order_id, idempotency_key)
            if earlier is not None:
                if earlier.request_hash != _hash(kind, plan):
                    raise Conflict(
                        "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key came with another body"
                    )
                shipment = await repo.get(order_id)
                assert shipment is not None
                return ShipmentAnswer(earlier, shipment, replayed=True)
        if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
            raise Conflict("ORDER_NOT_PAID", f"order {order_id} is {order.status}")
        shipment = await repo.get(order_id)
        if shipment is None:
            raise Conflict("SHIPPING_NOT_READY", "the order's shipment is being set up; retry")
        _check_allowed(shipment, plan, correction=correction)
        now = ctx.clock.now()
        if plan.completes and not await repo.claim_upload(
            order_id, expected=shipment.requested, now=now
        ):
            raise Conflict("ALREADY_SHIPPED", "another shipment of this order was just asked for")
        row = await _queue(uow, repo, order_id, kind, idempotency_key, plan, now, source="admin")
        fresh = await repo.get(order_id)
        assert fresh is not None
        await uow.commit()
        return ShipmentAnswer(row, fresh, replayed=False)


def _check_allowed(shipment: ShipmentRow, plan: ShipmentPlan, *, correction: bool) -> None:
    state = ShippingState(shipment.state)
    if state is ShippingState.NOT_REQUIRED:
        raise Conflict(
            "SHIPPING_NOT_REQUIRED", "this Mini Program is not under shipping management"
        )
    if state in (ShippingState.CONFIRMED, ShippingState.SETTLED):
        raise Conflict("ALREADY_CONFIRMED", "the buyer confirmed receipt: no more changes")
    if not correction:
        if shipment.requested > 0:
            raise Conflict("ALREADY_SHIPPED", "shipped already: correct it with PUT (once)")
        return
    if shipment.requested >= MAX_UPLOADS:
        raise Conflict(
            "CORRECTION_LIMIT_REACHED", "WeChat allows one correction per payment; it was used"
        )
    if state is not ShippingState.UPLOADED or shipment.uploads < 1:
        raise Conflict("NOT_YET_UPLOADED", "nothing to correct until WeChat accepted the upload")
    if not plan.completes:
        raise Conflict("INVALID_SHIPMENT", "a correction replaces the whole shipment")


async def upload_shipment(ctx: ServiceContext, request_id: int, step: int) -> timedelta | None:
    """Run one upload attempt; the wait before the next one, or None when finished."""
    setup = setup_of(ctx)
    async with ctx.uow(read_only=True) as uow:
        repo = ShippingRepository(uow.session)
        request = await repo.get_request(request_id)
        if request is None or request.status != "QUEUED":
            return None
        order = await uow.orders.get(request.order_id, with_items=False)
        assert order is not None
    plan = ShipmentPlan.from_json(request.plan)
    upload = ShipmentUpload(
        transaction_id=order.transaction_id or "",
        payer_openid=order.openid,
        plan=plan,
        upload_time=request.upload_time,
    )
    try:
        await setup.gateway.upload(upload)
    except (NotYetVisible, OutcomeUnknown) as exc:
        wait = upload_retry_delay(step, setup.retry_base_seconds)
        await _deferred(ctx, request, exc, wait)
        return wait
    except Refused as exc:
        if exc.code == _NOT_NEWER and request.attempts > 0:
            await _uploaded(ctx, request, plan, assumed=True)
        else:
            await _refused(ctx, request, plan, exc)
        return None
    await _uploaded(ctx, request, plan, assumed=False)
    return None


async def _deferred(
    ctx: ServiceContext, request: ShipmentRequestRow, exc: Exception, wait: timedelta
) -> None:
    code = getattr(exc, "code", None)
    async with ctx.uow() as uow:
        await ShippingRepository(uow.session).count_attempt(request.id)
        await uow.events.append(
            request.order_id,
            OrderEventType.SHIPPING_DEFERRED,
            at=ctx.clock.now(),
            source="shipping_job",
            detail={
                "request_id": request.id,
                "code": code,
                "message": str(getattr(exc, "message", exc))[:200],
                "retry_in_seconds": wait.total_seconds(),
            },
        )
        await uow.commit()


async def _uploaded(
    ctx: ServiceContext, request: ShipmentRequestRow, plan: ShipmentPlan, *, assumed: bool
) -> None:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        repo = ShippingRepository(uow.session)
        if not await repo.finish_request(
            request.id, from_status="QUEUED", status="UPLOADED", now=now
        ):
            return
        shipment = await repo.get(request.order_id)
        assert shipment is not None
        kept = [] if request.kind == "correct" else shipment.packages.get("packages", [])
        packages = [*kept, *(p.to_json() for p in plan.packages)]
        values: dict[str, object] = {
            "packages": {"packages": packages},
            "logistics_type": int(plan.logistics_type),
            "updated_at": now,
            "last_error": None,
        }
        if plan.completes:
            values["uploads"] = shipment.uploads + 1
            values["uploaded_at"] = now
        await repo.update(request.order_id, **values)
        if plan.completes:
            await repo.move(
                request.order_id,
                to=ShippingState.UPLOADED.value,
                from_states=[ShippingState.PENDING_UPLOAD.value],
            )
        await uow.events.append(
            request.order_id,
            OrderEventType.SHIPPING_UPLOADED,
            at=now,
            source="shipping_job",
            detail={
                "request_id": request.id,
                "kind": request.kind,
                "complete": plan.completes,
                "assumed_from_not_newer": assumed,
            },
        )
        await uow.commit()


async def _refused(
    ctx: ServiceContext, request: ShipmentRequestRow, plan: ShipmentPlan, exc: Refused
) -> None:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        repo = ShippingRepository(uow.session)
        if not await repo.finish_request(
            request.id, from_status="QUEUED", status="REFUSED", now=now,
            error_code=exc.code, error_message=exc.message[:500],
        ):  # fmt: skip
            return
        shipment = await repo.get(request.order_id)
        assert shipment is not None
        values: dict[str, object] = {"last_error": f"{exc.code}: {exc.message}"[:500]}
        if plan.completes:
            # WeChat recorded nothing: the operator may ask again.
            values["requested"] = max(shipment.requested - 1, 0)
        await repo.update(request.order_id, updated_at=now, **values)
        await uow.events.append(
            request.order_id,
            OrderEventType.SHIPPING_REFUSED,
            at=now,
            source="shipping_job",
            detail={"request_id": request.id, "code": exc.code, "message": exc.message[:200]},
        )
        await uow.commit()
    ctx.observer.alert(
        "WeChat refused shipping information", order_id=request.order_id, code=exc.code
    )
