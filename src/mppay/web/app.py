"""The FastAPI application factory. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

import mppay
from mppay.usecases.context import ServiceContext
from mppay.web.body_limit import BodyLimitMiddleware
from mppay.web.errors import install_error_handlers
from mppay.web.metrics import Metrics
from mppay.web.request_context import RequestIdMiddleware
from mppay.web.routes import admin, api, notify, ops

__all__ = ["MAX_BODY_BYTES", "create_app"]

# Mini Program requests and WeChat notifications are a few KB; anything this big is abuse.
MAX_BODY_BYTES = 64 * 1024

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    ctx: ServiceContext,
    *,
    admin_token: str | None,
    metrics: Metrics | None = None,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """Build the HTTP app over a wired ``ServiceContext``."""
    app = FastAPI(
        title="mppay",
        version=mppay.__version__,
        summary="WeChat Mini Program payments: login, orders, JSAPI prepay, notifications, refunds.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.admin_token = admin_token
    app.state.metrics = metrics or Metrics()
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(notify.router)
    app.include_router(admin.router)
    app.include_router(ops.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestIdMiddleware)
    return app
