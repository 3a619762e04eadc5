"""The console's pages (GET): overview, orders, one order, refunds, reconciliation,
notifications, jobs and the audit log. Each builds its view data with ``views`` and renders
one template; none changes anything."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from mppay.domain.identifiers import BEIJING
from mppay.domain.operators import may
from mppay.domain.states import OrderStatus
from mppay.usecases import admin, console
from mppay.usecases.errors import InvalidInput, NotFound
from mppay.web.console import views
from mppay.web.console.core import Operator, Signed, render, state_of
from mppay.web.deps import Ctx

router = APIRouter(prefix="/console", include_in_schema=False)

PAGE = 50
REFUND_STATUSES = ("PROCESSING", "SUCCESS", "ABNORMAL", "CLOSED")
NOTIFICATION_KINDS = ("verified", "rejected", "duplicate")


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, ctx: Ctx, operator: Operator) -> HTMLResponse:
    facts = await console.overview(ctx)
    return render(
        request,
        "overview.html",
        operator,
        facts=facts,
        hourly=views.hourly_chart(facts.hourly_today, facts.hourly_yesterday),
        daily=views.daily_chart(facts.daily_30, facts.today),
    )


def _day(text: str | None, *, end: bool) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("INVALID_DATE", "dates are YYYY-MM-DD") from None
    if end:
        if day == date.max:
            return None
        day += timedelta(days=1)
    moment = datetime.combine(day, time(0), BEIJING)
    try:
        moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Beijing is before the first UTC instant: no bound
        return None
    return moment


def _amount(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return views.typed_yuan(text)
    except ValueError:
        raise InvalidInput("INVALID_AMOUNT", "amounts are yuan with at most two decimals") from None


def order_query(
    q: str | None,
    status: str | None,
    date_from: str | None,
    date_to: str | None,
    amount_min: str | None,
    amount_max: str | None,
    review: str | None,
) -> console.OrderQuery:
    """The search form's fields as a query; ``InvalidInput`` for a bad date or amount."""
    return console.OrderQuery(
        text=(q or "").strip()[:128] or None,
        status=status if status in set(OrderStatus) else None,
        created_from=_day(date_from, end=False),
        created_to=_day(date_to, end=True),
        amount_min_fen=_amount(amount_min),
        amount_max_fen=_amount(amount_max),
        needs_review=True if review == "1" else None,
    )


Text = Annotated[str | None, Query(max_length=128)]


@router.get("/orders", response_class=HTMLResponse)
async def orders(
    request: Request,
    ctx: Ctx,
    operator: Operator,
    q: Text = None,
    status: Text = None,
    date_from: Text = None,
    date_to: Text = None,
    amount_min: Text = None,
    amount_max: Text = None,
    review: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    form = {
        "q": q or "",
        "status": status or "",
        "date_from": date_from or "",
        "date_to": date_to or "",
        "amount_min": amount_min or "",
        "amount_max": amount_max or "",
        "review": review or "",
    }
    error = None
    rows = []
    try:
        query = order_query(q, status, date_from, date_to, amount_min, amount_max, review)
        rows = await console.search_orders(ctx, query, limit=PAGE + 1, offset=offset)
    except InvalidInput as exc:
        error = exc.message
    previous, following = views.pages(offset, PAGE, len(rows))
    return render(
        request,
        "orders.html",
        operator,
        status_code=422 if error else 200,
        rows=rows[:PAGE],
        form=form,
        statuses=[s.value for s in OrderStatus],
        error=error,
        previous=previous,
        following=following,
        form_query=urlencode({key: value for key, value in form.items() if value}),
    )


async def order_page(
    request: Request,
    ctx: Ctx,
    operator: Signed,
    order_id: str,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The order with its whole story and the actions the operator's role allows."""
    try:
        dossier = await admin.get_order_dossier(ctx, order_id)
    except NotFound:
        return render(request, "message.html", operator, status_code=404, message_key="not_found")
    order = dossier.order
    return render(
        request,
        "order.html",
        operator,
        status_code=status_code,
        order=order,
        refunds=dossier.refunds,
        timeline=views.build_timeline(
            dossier.events, dossier.attempts, dossier.notifications, dossier.refunds
        ),
        refundable=order.amount_total_fen - order.refund_reserved_fen,
        refundable_input=views.yuan_input(order.amount_total_fen - order.refund_reserved_fen),
        may=lambda action: may(operator.role, action),
        support_limit=state_of(request).config.support_refund_limit_fen,
        error=error,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, ctx: Ctx, operator: Operator, order_id: str) -> HTMLResponse:
    return await order_page(request, ctx, operator, order_id)


@router.get("/refunds", response_class=HTMLResponse)
async def refunds(
    request: Request,
    ctx: Ctx,
    operator: Operator,
    status: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    chosen = status if status in REFUND_STATUSES else None
    rows = await console.list_refunds(ctx, status=chosen, limit=PAGE + 1, offset=offset)
    previous, following = views.pages(offset, PAGE, len(rows))
    return render(
        request,
        "refunds.html",
        operator,
        rows=rows[:PAGE],
        status=chosen or "",
        statuses=REFUND_STATUSES,
        advice=views.REFUND_ADVICE,
        previous=previous,
        following=following,
    )


@router.get("/reconciliation", response_class=HTMLResponse)
async def reconciliations(request: Request, ctx: Ctx, operator: Operator) -> HTMLResponse:
    runs = await admin.list_reconciliations(ctx, limit=60)
    yesterday = ctx.clock.now().astimezone(BEIJING).date() - timedelta(days=1)
    return render(
        request,
        "reconciliation.html",
        operator,
        runs=runs,
        yesterday=yesterday.isoformat(),
        may_rerun=may(operator.role, "rerun_reconciliation"),
    )


@router.get("/reconciliation/{bill_date}", response_class=HTMLResponse)
async def reconciliation(
    request: Request, ctx: Ctx, operator: Operator, bill_date: date
) -> HTMLResponse:
    try:
        run, found = await admin.get_reconciliation(ctx, bill_date)
    except NotFound:
        return render(request, "message.html", operator, status_code=404, message_key="not_found")
    return render(
        request,
        "reconciliation_day.html",
        operator,
        run=run,
        found=found,
        fixes=views.DISCREPANCY_FIX,
        may_rerun=may(operator.role, "rerun_reconciliation"),
    )


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(
    request: Request,
    ctx: Ctx,
    operator: Operator,
    kind: Text = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    chosen = kind if kind in NOTIFICATION_KINDS else None
    rows = await console.list_notifications(ctx, kind=chosen, limit=PAGE + 1, offset=offset)
    previous, following = views.pages(offset, PAGE, len(rows))
    return render(
        request,
        "notifications.html",
        operator,
        rows=rows[:PAGE],
        kind=chosen or "",
        kinds=NOTIFICATION_KINDS,
        previous=previous,
        following=following,
    )


@router.get("/jobs", response_class=HTMLResponse)
async def jobs(request: Request, ctx: Ctx, operator: Operator) -> HTMLResponse:
    failing, queued, counts = await console.failing_jobs(ctx, limit=200)
    return render(
        request,
        "jobs.html",
        operator,
        failing=failing,
        queued=queued,
        counts=counts,
        may_retry=may(operator.role, "retry_job"),
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    operator: Operator,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    if not may(operator.role, "read_audit"):
        return render(request, "message.html", operator, status_code=403, message_key="forbidden")
    rows = await state_of(request).operators.audit_log(limit=PAGE + 1, offset=offset)
    previous, following = views.pages(offset, PAGE, len(rows))
    return render(
        request,
        "audit.html",
        operator,
        rows=rows[:PAGE],
        previous=previous,
        following=following,
    )
