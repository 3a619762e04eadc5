"""The Mini Program's API. Names here are a contract (see the README)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from mppay.domain.catalog import RequestedLine
from mppay.usecases import closing, login, orders, payments
from mppay.web.deps import BearerToken, Ctx, CurrentUser
from mppay.web.rate_limit import LoginRateLimit
from mppay.web.responses import json_response
from mppay.web.routes.shipping import with_shipping
from mppay.web.schemas import (
    ErrorBody,
    LoginRequest,
    LoginResponse,
    OrderCreate,
    OrderPage,
    OrderPublic,
    PaymentStartResponse,
    ProductPublic,
    RequestPaymentParams,
)

router = APIRouter(
    prefix="/api",
    tags=["mini program"],
    responses={
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)


@router.post(
    "/login",
    response_model=LoginResponse,
    dependencies=[LoginRateLimit],
    responses={429: {"model": ErrorBody}},
)
async def post_login(body: LoginRequest, ctx: Ctx) -> Response:
    """Exchange a ``wx.login`` code for a Bearer token (jscode2session on the server).

    Limited per client address (``MPPAY_LOGIN_RATE_PER_MINUTE``, ``MPPAY_LOGIN_RATE_BURST``):
    over it, 429 ``RATE_LIMITED`` with ``Retry-After`` in seconds.
    """
    issued = await login.login(ctx, body.code)
    return json_response(LoginResponse(token=issued.token, expires_at=issued.expires_at))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def post_logout(ctx: Ctx, token: BearerToken) -> Response:
    await login.logout(ctx, token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/products", response_model=list[ProductPublic])
async def get_products(ctx: Ctx) -> list[ProductPublic]:
    return [ProductPublic.of(product) for product in ctx.catalog.all()]


@router.post("/orders", response_model=OrderPublic, status_code=status.HTTP_201_CREATED)
async def post_order(
    body: OrderCreate,
    ctx: Ctx,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Create an order priced by the server. Any amount sent by the client is ignored.

    Same ``Idempotency-Key`` and body: the same order again (``Idempotent-Replayed: true``).
    Same key, different body: 409 ``IDEMPOTENCY_KEY_REUSED``.
    """
    lines = [RequestedLine(item.product_id, item.quantity) for item in body.items]
    created = await orders.create_order(ctx, user, lines, idempotency_key or None)
    return json_response(
        OrderPublic.of(created.order),
        status_code=status.HTTP_201_CREATED,
        headers={"Idempotent-Replayed": "true"} if created.replayed else None,
    )


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    ctx: Ctx,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    """The caller's orders, newest first."""
    page = await orders.list_user_orders(ctx, user, limit=limit, cursor=cursor)
    return OrderPage(
        items=[OrderPublic.of(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/orders/{order_id}", response_model=OrderPublic)
async def get_order(order_id: str, ctx: Ctx, user: CurrentUser, refresh: bool = False) -> Response:
    """One of the caller's orders; ``?refresh=true`` asks WeChat first while it is PENDING."""
    order = await orders.get_user_order(ctx, user, order_id, refresh=refresh)
    # Paid orders carry their shipping (one primary-key read); unpaid ones cost nothing more.
    return json_response(await with_shipping(ctx, order, OrderPublic.of(order)))


@router.post("/orders/{order_id}/pay", response_model=PaymentStartResponse)
async def pay(order_id: str, request: Request, ctx: Ctx, user: CurrentUser) -> Response:
    """Signed parameters for ``wx.requestPayment``; pass ``params`` to it unchanged."""
    client_ip = request.client.host if request.client else "127.0.0.1"
    started = await payments.pay_order(ctx, user, order_id, client_ip=client_ip)
    return json_response(
        PaymentStartResponse(
            order_id=started.order_id, params=RequestPaymentParams(**started.params)
        )
    )


@router.post("/orders/{order_id}/cancel", response_model=OrderPublic)
async def cancel(order_id: str, ctx: Ctx, user: CurrentUser) -> OrderPublic:
    """Close an unpaid order at WeChat (when it was prepaid) and here."""
    return OrderPublic.of(await closing.cancel_order(ctx, user, order_id))
