"""Liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from mppay.store.repos.shipping import ShippingRepository
from mppay.web.deps import Ctx, MetricsAuth
from mppay.web.metrics import Metrics
from mppay.web.schemas import ErrorBody, Health

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(ctx: Ctx) -> JSONResponse:
    try:
        async with ctx.uow(read_only=True) as uow:
            await uow.session.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("health check: database unreachable: %s", type(exc).__name__)
        return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[MetricsAuth],
    responses={401: {"model": ErrorBody}},
)
async def metrics(request: Request, ctx: Ctx) -> Response:
    """Prometheus text; ``Authorization: Bearer <MPPAY_METRICS_TOKEN>`` when that is set."""
    registry: Metrics = request.app.state.metrics

    async def count_orders() -> dict[str, int]:
        async with ctx.uow(read_only=True) as uow:
            if ctx.shipping is not None:
                # Same cadence as the order gauges: one GROUP BY over shipments per TTL.
                shipments = ShippingRepository(uow.session)
                registry.set_shipment_counts(await shipments.count_by_state())
            return await uow.orders.count_by_status()

    await registry.refresh_order_counts(count_orders)
    return Response(registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
