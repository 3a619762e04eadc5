"""The operations console at ``/console/``: server-rendered pages for the shop's staff.

``install_console(app, ctx, config)`` mounts it; the sandbox calls ``enable_sandbox`` to show
its banner and provision the ``sandbox`` operator.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from mppay.usecases.context import ServiceContext
from mppay.web.console import actions, auth, export, pages
from mppay.web.console.core import ConsoleConfig, ConsoleState, CsrfRefused, SignInRequired, render

__all__ = ["ConsoleConfig", "enable_sandbox", "install_console"]


def install_console(app: FastAPI, ctx: ServiceContext, config: ConsoleConfig) -> None:
    app.state.console = ConsoleState.build(ctx, config)
    # The export's route must come before /orders/{order_id}-like patterns of other routers.
    app.include_router(export.router)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(actions.router)

    @app.get("/console", include_in_schema=False)
    async def _slash() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=308)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return auth.sign_in_redirect(request, expired=exc.expired)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "message.html", None, status_code=403, message_key="csrf_failed")


async def enable_sandbox(app: FastAPI, ctx: ServiceContext, emulator_url: str) -> None:
    """Sandbox only: the banner with the emulator's controls, and the ``sandbox`` operator
    (an admin with the published password, which only a sandbox console accepts)."""
    state: ConsoleState = app.state.console
    state.config.emulator_url = emulator_url
    state.operators.allow_sandbox_password = True
    await state.operators.ensure_sandbox_operator()
