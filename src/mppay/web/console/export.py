"""``GET /console/orders.csv``: the search's whole result as CSV, streamed.

Rows are read a page at a time by keyset (created_at, id), each page in its own short read
transaction, and written as they come: memory stays flat however many orders match. Amounts
are yuan with two decimals computed from integer fen; times are Beijing time (the header
names the zone). Cells that a spreadsheet would run as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from mppay.domain.identifiers import BEIJING
from mppay.store.models import OrderRow
from mppay.usecases import console
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import InvalidInput
from mppay.web.console.core import Operator, render, state_of
from mppay.web.console.pages import Text, order_query
from mppay.web.console.views import yuan_input
from mppay.web.deps import Ctx

router = APIRouter(prefix="/console", include_in_schema=False)

BATCH = 500
HEADER = [
    "order_id",
    "out_trade_no",
    "transaction_id",
    "status",
    "amount_yuan",
    "refunded_yuan",
    "currency",
    "openid",
    "created_at_beijing",
    "paid_at_beijing",
    "needs_review",
    "description",
]


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(order: OrderRow) -> list[str]:
    def when(moment: object) -> str:
        return moment.astimezone(BEIJING).isoformat() if moment is not None else ""  # type: ignore[attr-defined]

    return [
        order.id,
        order.out_trade_no,
        order.transaction_id or "",
        order.status,
        yuan_input(order.amount_total_fen),
        yuan_input(order.refunded_fen),
        order.currency,
        _cell(order.openid),
        when(order.created_at),
        when(order.paid_at),
        "1" if order.needs_review else "0",
        _cell(order.description),
    ]


async def stream_csv(ctx: ServiceContext, query: console.OrderQuery) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A BOM, so Excel opens the Chinese product names as UTF-8.
    buffer.write("\ufeff")
    writer.writerow(HEADER)
    before = None
    while True:
        rows = await console.orders_before(ctx, query, before, limit=BATCH)
        for order in rows:
            writer.writerow(csv_row(order))
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < BATCH:
            return
        before = (rows[-1].created_at, rows[-1].id)


@router.get("/orders.csv")
async def export(
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
) -> Response:
    try:
        query = order_query(q, status, date_from, date_to, amount_min, amount_max, review)
    except InvalidInput as exc:
        return render(request, "message.html", operator, status_code=422, message=exc.message)
    await state_of(request).operators.record(
        operator.session.actor(operator.ip),
        "export_orders",
        None,
        "ok",
        {"query": str(request.url.query)[:500]},
    )
    stamp = ctx.clock.now().astimezone(BEIJING).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        stream_csv(ctx, query),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="orders-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
