"""Shipping information over HTTP: the operator's shipments, the buyer's view, WeChat's pushes.

- ``POST /admin/api/orders/{id}/shipments`` ship (``Idempotency-Key``), ``PUT`` correct once,
  ``GET`` the shipment and its upload requests;
- ``GET /api/orders/{id}/shipping`` (``?refresh=true`` asks WeChat's get_order first);
- ``GET /wechat/message-push`` WeChat's URL check, ``POST`` the pushes (verified over the raw
  query and body, stored once, acknowledged with ``success`` only after the commit).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel, Field

from mppay.domain.shipping import (
    LogisticsType,
    ShipmentError,
    ShipmentPackage,
    ShipmentPlan,
)
from mppay.domain.states import OrderStatus
from mppay.store.models import OrderRow
from mppay.store.repos.shipping import ShippingRepository
from mppay.usecases import orders, shipping, shipping_events
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import InvalidInput
from mppay.usecases.ports import NotificationRejected
from mppay.web.deps import AdminAuth, Ctx, CurrentUser
from mppay.web.schemas import ErrorBody, OrderPublic, RequestBody, ShippingPublic

__all__ = ["admin_router", "push_router", "user_router", "with_shipping"]

log = logging.getLogger(__name__)


class PackageIn(RequestBody):
    express_company: str | None = Field(default=None, max_length=32, examples=["YTO"])
    tracking_no: str | None = Field(default=None, max_length=128, examples=["YT1234567890"])
    item_desc: str | None = Field(
        default=None, max_length=120, description="default: the order's items"
    )
    receiver_contact: str | None = Field(
        default=None, max_length=32, description="masked phone (189****1234); SF Express needs it"
    )


class ShipmentCreate(RequestBody):
    logistics_type: Literal[1, 2, 3, 4] = Field(
        default=1, description="1 express, 2 local delivery, 3 virtual goods, 4 self pick-up"
    )
    delivery_mode: Literal["unified", "split"] = "unified"
    is_all_delivered: bool = Field(
        default=True, description="split delivery: false while more packages will follow"
    )
    packages: list[PackageIn] = Field(min_length=1, max_length=15)

    def plan(self) -> ShipmentPlan:
        return ShipmentPlan(
            logistics_type=LogisticsType(self.logistics_type),
            split=self.delivery_mode == "split",
            is_all_delivered=self.is_all_delivered,
            packages=tuple(
                ShipmentPackage(
                    item_desc=p.item_desc or "",
                    tracking_no=p.tracking_no or None,
                    express_company=p.express_company or None,
                    receiver_contact=p.receiver_contact or None,
                )
                for p in self.packages
            ),
        )


class ShipmentRequestPublic(BaseModel):
    id: int
    kind: str
    status: str
    error_code: str | None
    error_message: str | None


class ShipmentPublic(BaseModel):
    order_id: str
    shipping: ShippingPublic
    request: ShipmentRequestPublic | None = None
    requests: list[ShipmentRequestPublic] = []


def _public(view: dict[str, object]) -> ShippingPublic:
    return ShippingPublic.model_validate(view)


async def with_shipping(ctx: ServiceContext, order: OrderRow, public: OrderPublic) -> OrderPublic:
    """``public`` with its ``shipping`` object when shipping is configured and it is paid."""
    if ctx.shipping is None or not OrderStatus(order.status).is_paid:
        return public
    async with ctx.uow(read_only=True) as uow:
        shipment = await ShippingRepository(uow.session).get(order.id)
    return public.model_copy(update={"shipping": _public(shipping.shipping_view(order, shipment))})


admin_router = APIRouter(
    prefix="/admin/api",
    tags=["operations"],
    dependencies=[AdminAuth],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


async def _ship(
    ctx: ServiceContext,
    order_id: str,
    body: ShipmentCreate,
    response: Response,
    key: str | None,
    *,
    correction: bool,
) -> ShipmentPublic:
    try:
        answer = await shipping.request_shipment(
            ctx, order_id, body.plan(), correction=correction, idempotency_key=key or None
        )
    except ShipmentError as exc:
        raise InvalidInput(exc.code, exc.message) from exc
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    view = await shipping_events.shipping_of(ctx, order_id)
    return ShipmentPublic(
        order_id=order_id,
        shipping=_public({k: v for k, v in view.items() if k != "order_id"}),
        request=ShipmentRequestPublic.model_validate(answer.request, from_attributes=True),
    )


@admin_router.post(
    "/orders/{order_id}/shipments",
    response_model=ShipmentPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
async def ship(
    order_id: str,
    body: ShipmentCreate,
    ctx: Ctx,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ShipmentPublic:
    """Ship a paid order: the upload to WeChat runs as a job (202); its answer lands on the
    timeline. Split delivery: send ``is_all_delivered: false`` until the last package."""
    return await _ship(ctx, order_id, body, response, idempotency_key, correction=False)


@admin_router.put(
    "/orders/{order_id}/shipments",
    response_model=ShipmentPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
async def correct(
    order_id: str,
    body: ShipmentCreate,
    ctx: Ctx,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> ShipmentPublic:
    """Correct an uploaded shipment, once (WeChat allows one update per payment); a second
    correction is 409 ``CORRECTION_LIMIT_REACHED``."""
    return await _ship(ctx, order_id, body, response, idempotency_key, correction=True)


@admin_router.get("/orders/{order_id}/shipments", response_model=ShipmentPublic)
async def show(order_id: str, ctx: Ctx) -> ShipmentPublic:
    view = await shipping_events.shipping_of(ctx, order_id)
    async with ctx.uow(read_only=True) as uow:
        rows = await ShippingRepository(uow.session).requests_of(order_id)
    return ShipmentPublic(
        order_id=order_id,
        shipping=_public({k: v for k, v in view.items() if k != "order_id"}),
        requests=[ShipmentRequestPublic.model_validate(r, from_attributes=True) for r in rows],
    )


user_router = APIRouter(prefix="/api", tags=["Mini Program"])


@user_router.get("/orders/{order_id}/shipping", response_model=ShippingPublic)
async def my_shipping(
    order_id: str, ctx: Ctx, user: CurrentUser, refresh: bool = False
) -> ShippingPublic:
    """The shipping of one of the caller's orders; ``?refresh=true`` asks WeChat first (after
    the buyer confirmed receipt in WeChat's page)."""
    order = await orders.get_user_order(ctx, user, order_id)
    if refresh and ctx.shipping is not None:
        return _public(await shipping_events.refresh_shipping(ctx, order))
    async with ctx.uow(read_only=True) as uow:
        shipment = await ShippingRepository(uow.session).get(order.id)
    return _public(shipping.shipping_view(order, shipment))


push_router = APIRouter(prefix="/wechat", tags=["WeChat notifications"])


@push_router.get("/message-push", summary="WeChat message push URL check")
async def url_check(request: Request, ctx: Ctx) -> Response:
    verifier = ctx.shipping.verifier if ctx.shipping is not None else None
    if verifier is None:
        return Response("message push not configured", status_code=404, media_type="text/plain")
    try:
        echo = verifier.check_url(dict(request.query_params))
    except NotificationRejected as exc:
        log.warning("message push URL check refused: %s", exc.reason)
        return Response("signature invalid", status_code=401, media_type="text/plain")
    return Response(echo, media_type="text/plain")


@push_router.post("/message-push", summary="WeChat message push (shipping events)")
async def receive_push(request: Request, ctx: Ctx) -> Response:
    verifier = ctx.shipping.verifier if ctx.shipping is not None else None
    if verifier is None:
        return Response("message push not configured", status_code=404, media_type="text/plain")
    body = await request.body()
    try:
        event = verifier.open(dict(request.query_params), body)
    except NotificationRejected as exc:
        log.warning("message push refused: %s", exc.reason)
        status_code, text = (401, "signature invalid") if exc.kind == "verification" else (
            400, "malformed"
        )  # fmt: skip
        return Response(text, status_code=status_code, media_type="text/plain")
    outcome = await shipping_events.handle_push(ctx, event)
    ctx.observer.notification("message_push", outcome)
    log.info("message push %s: %s", event.event, outcome)
    return Response("success", media_type="text/plain")
