"""Operations API (Bearer ``MPPAY_ADMIN_TOKEN``): refunds, order search, full timelines."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from mppay.domain.identifiers import BEIJING
from mppay.domain.states import OrderStatus
from mppay.usecases import admin, refunds
from mppay.usecases.admin import OrderFilter
from mppay.usecases.errors import InvalidInput
from mppay.web.deps import AdminAuth, Ctx
from mppay.web.schemas import (
    AdminOrder,
    AdminOrderDetail,
    AdminOrderPage,
    DiscrepancyPublic,
    ErrorBody,
    NotificationPublic,
    PaymentAttemptPublic,
    ReconciliationDetail,
    ReconciliationPublic,
    RefundCreate,
    RefundPublic,
    TimelineEntry,
)

router = APIRouter(
    prefix="/admin/api",
    tags=["operations"],
    dependencies=[AdminAuth],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


@router.post(
    "/orders/{order_id}/refunds", response_model=RefundPublic, status_code=status.HTTP_201_CREATED
)
async def create_refund(
    order_id: str,
    body: RefundCreate,
    ctx: Ctx,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> RefundPublic:
    """Refund part or all of a paid order; never more than the refundable remainder.

    Same ``Idempotency-Key`` (per order) and body: the same refund again
    (``Idempotent-Replayed: true``). Same key, different body: 409 ``IDEMPOTENCY_KEY_REUSED``.
    """
    created = await refunds.request_refund(
        ctx, order_id, body.amount_fen, body.reason, idempotency_key=idempotency_key or None
    )
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return RefundPublic.of(created.refund)


# The widest instants every backend stores; a bound beyond them selects nothing more.
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
# Deeper than this an offset is no row position: it only has to fit a 64-bit database integer.
MAX_OFFSET = 2**31 - 1


def _moment(value: str | None, *, end: bool, name: str) -> datetime | None:
    """An ISO 8601 date or datetime; a date is a Beijing calendar day, a naive time is Beijing time.

    ``end=True`` makes a bare date inclusive (the next day's midnight is the exclusive bound).
    Returned in UTC; a bound at the very ends of the calendar (``9999-12-31``,
    ``0001-01-01T00:00:00+05:00``) has no UTC instant and is clamped to the first or last one.
    """
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end and day == date.max:
                return _LATEST
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), BEIJING)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "INVALID_DATE", f"{name} must be YYYY-MM-DD or an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # Only the first and last hours of the calendar fail to convert.
        return _EARLIEST if moment.year == 1 else _LATEST


@router.get("/orders", response_model=AdminOrderPage)
async def search_orders(
    ctx: Ctx,
    status_: Annotated[OrderStatus | None, Query(alias="status")] = None,
    created_from: Annotated[
        str | None,
        Query(alias="from", description="created on/after: YYYY-MM-DD (Beijing) or ISO 8601 time"),
    ] = None,
    created_to: Annotated[
        str | None,
        Query(alias="to", description="created before an ISO 8601 time, or on/before YYYY-MM-DD"),
    ] = None,
    date_from: Annotated[str | None, Query(description="same as from")] = None,
    date_to: Annotated[str | None, Query(description="same as to")] = None,
    out_trade_no: str | None = None,
    openid: str | None = None,
    needs_review: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AdminOrderPage:
    """Orders, newest first, filtered by status, creation date range, out_trade_no, openid."""
    criteria = OrderFilter(
        status=status_.value if status_ else None,
        created_from=_moment(created_from or date_from, end=False, name="from"),
        created_to=_moment(created_to or date_to, end=True, name="to"),
        out_trade_no=out_trade_no,
        openid=openid,
        needs_review=needs_review,
    )
    rows = await admin.search_orders(ctx, criteria, limit=limit, offset=offset)
    return AdminOrderPage(items=[AdminOrder.of(row) for row in rows], limit=limit, offset=offset)


@router.get("/orders/{order_id}", response_model=AdminOrderDetail)
async def order_detail(order_id: str, ctx: Ctx) -> AdminOrderDetail:
    """The order with its prepay attempts, refunds, notifications and full timeline."""
    dossier = await admin.get_order_dossier(ctx, order_id)
    return AdminOrderDetail(
        order=AdminOrder.of(dossier.order),
        payment_attempts=[PaymentAttemptPublic.of(a) for a in dossier.attempts],
        refunds=[RefundPublic.of(r) for r in dossier.refunds],
        notifications=[NotificationPublic.of(n) for n in dossier.notifications],
        timeline=[TimelineEntry.of(e) for e in dossier.events],
    )


@router.get("/reconciliations", response_model=list[ReconciliationPublic])
async def reconciliations(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=366)] = 31
) -> list[ReconciliationPublic]:
    """The most recent reconciliation runs, newest bill date first."""
    return [
        ReconciliationPublic.of(run) for run in await admin.list_reconciliations(ctx, limit=limit)
    ]


@router.get("/reconciliations/{bill_date}", response_model=ReconciliationDetail)
async def reconciliation(bill_date: date, ctx: Ctx) -> ReconciliationDetail:
    """One day's run with every discrepancy and how it was resolved."""
    run, discrepancies = await admin.get_reconciliation(ctx, bill_date)
    return ReconciliationDetail(
        **ReconciliationPublic.of(run).model_dump(),
        discrepancies=[DiscrepancyPublic.of(row) for row in discrepancies],
    )
