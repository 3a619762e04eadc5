"""The FastAPI application factory. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

import mppay
from mppay.usecases.context import ServiceContext
from mppay.web.body_limit import BodyLimitMiddleware
from mppay.web.console import ConsoleConfig, install_console
from mppay.web.errors import install_error_handlers
from mppay.web.internal_error import InternalErrorMiddleware
from mppay.web.metrics import Metrics
from mppay.web.nul_guard import NulGuardMiddleware
from mppay.web.rate_limit import TokenBuckets, install_login_rate_limit
from mppay.web.request_context import RequestIdMiddleware
from mppay.web.routes import admin, api, devtools, notify, ops, shipping

__all__ = ["MAX_BODY_BYTES", "create_app"]

# Mini Program requests and WeChat notifications are a few KB; anything this big is abuse.
MAX_BODY_BYTES = 64 * 1024

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    ctx: ServiceContext,
    *,
    admin_token: str | None,
    metrics: Metrics | None = None,
    metrics_token: str | None = None,
    lifespan: Lifespan | None = None,
    login_buckets: TokenBuckets | None = None,
    console: ConsoleConfig | None = None,
) -> FastAPI:
    """Build the HTTP app over a wired ``ServiceContext``.

    ``login_buckets`` limits ``POST /api/login`` per client address (default: 30 a minute,
    bursts of 20, the settings' defaults). With ``metrics_token``, ``/metrics`` needs it as a
    Bearer token. ``console`` configures the operations console at ``/console/``.
    """
    app = FastAPI(
        title="mppay",
        version=mppay.__version__,
        summary="WeChat Mini Program payments: login, orders, JSAPI prepay, notifications, refunds.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.admin_token = admin_token
    app.state.metrics = metrics or Metrics()
    app.state.metrics_token = metrics_token
    install_error_handlers(app)
    if login_buckets is None:
        login_buckets = TokenBuckets(rate_per_minute=30, burst=20)
    install_login_rate_limit(app, login_buckets)
    app.include_router(api.router)
    app.include_router(notify.router)
    app.include_router(admin.router)
    app.include_router(devtools.router)
    app.include_router(ops.router)
    app.include_router(shipping.admin_router)
    app.include_router(shipping.user_router)
    app.include_router(shipping.push_router)
    install_console(app, ctx, console or ConsoleConfig())
    # Added innermost first; a request passes RequestId -> InternalError -> NulGuard -> BodyLimit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
