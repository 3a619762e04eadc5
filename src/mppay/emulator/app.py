"""``create_app``: the ASGI app serving WeChat's paths, the login path and ``/sandbox/``.

Under uvicorn the lifespan runs the background delivery loop. Under ``httpx.ASGITransport``
(which does not run lifespans) every request kicks a delivery pump in the caller's event loop,
and ``async with emulator.running():`` starts the loop explicitly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .emulator import Emulator
from .errors import V3Error
from .faults import run_api
from .login import wechat_error
from .sandbox import Sandbox
from .shipping_http import shipping_routes
from .v2 import V2Api, v2_fail_response
from .v3 import V3Api, v3_error_response
from .wire import json_response, route_path

__all__ = ["RedactSecrets", "create_app"]

log = logging.getLogger("mppay.emulator")


class RedactSecrets(logging.Filter):
    """Masks ``secret=`` and ``js_code=`` query values in access-log lines.

    ``/sns/jscode2session`` carries the AppSecret in its query string (as WeChat's does); the
    CLI installs this on ``uvicorn.access`` so secrets never reach the log.
    """

    _PATTERN = re.compile(r"((?:secret|js_code)=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._PATTERN.sub(r"\1***", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        record.msg = self._PATTERN.sub(r"\1***", str(record.msg))
        return True


class _AfterEachRequest:
    """Save the state file and kick due work once a request has been answered."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.emulator.save_if_dirty()
            self.emulator.kick()


def _family(path: str) -> str:
    if path.startswith("/v3/"):
        return "v3"
    if path.startswith(("/pay/", "/secapi/")):
        return "v2"
    if path.startswith(("/sns/", "/wxa/", "/cgi-bin/")):
        return "login"
    return "other"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    family = _family(route_path(request))
    if family == "v3":
        error = (
            V3Error(405, "METHOD_NOT_ALLOWED", "不支持的HTTP方法")
            if status == 405
            else V3Error(404, "NOT_FOUND", "请求的URL不存在")
        )
        response = v3_error_response(error, None, request)
        response.headers.update(headers)
        return response
    if family == "v2":
        return v2_fail_response("请求的URL不存在", status=404)
    if family == "login":
        return json_response(wechat_error(40066, "invalid url"), status, headers)
    if route_path(request).startswith("/sandbox/"):
        code = "METHOD_NOT_ALLOWED" if status == 405 else "NOT_FOUND"
        return json_response({"code": code, "message": str(exc.detail)}, status, headers)
    return PlainTextResponse(str(exc.detail), status_code=status, headers=headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", route_path(request), exc_info=exc)
    if _family(route_path(request)) == "v3":
        return json_response({"code": "SYSTEM_ERROR", "message": "系统错误"}, 500)
    return PlainTextResponse("Internal Server Error", status_code=500)


def create_app(emulator: Emulator | None = None) -> Starlette:
    """The emulator as an ASGI app (a new ``Emulator()`` when none is given).

    ``app.state.emulator`` is the Emulator behind it.
    """
    emu = emulator if emulator is not None else Emulator()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with emu.running():
            yield {}

    async def login(request: Request) -> Response:
        emu.tick()
        plan = emu.faults.plan_api(_login_scope(emu, request), route_path(request))

        async def process() -> Response:
            answer = emu.logins.code2session(request.query_params)
            emu.touch()
            # WeChat's api.weixin.qq.com answers JSON with a text/plain content type.
            return json_response(answer, headers={"Content-Type": "text/plain"})

        def fault(kind: str) -> Response:
            if kind == "system_error":
                answer = wechat_error(-1, "system error")
                return json_response(answer, headers={"Content-Type": "text/plain"})
            status = 500 if kind == "http_500" else 503
            return PlainTextResponse(f"{status}", status_code=status)

        return await run_api(plan, process, fault)

    routes: list[Any] = [
        *V3Api(emu).routes(),
        *V2Api(emu).routes(),
        Route("/sns/jscode2session", login, methods=["GET"]),
        *shipping_routes(emu),
        *Sandbox(emu).routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _http_error, 405: _http_error, 500: _server_error},
    )
    # WeChat answers 404 for a trailing slash; it never redirects (and a redirect would drop
    # the signature's URL).
    app.router.redirect_slashes = False
    app.state.emulator = emu
    app.add_middleware(_AfterEachRequest, emulator=emu)
    return app


def _login_scope(emu: Emulator, request: Request) -> str | None:
    merchant = emu.state.merchant_by_appid(request.query_params.get("appid", ""))
    return merchant.mchid if merchant is not None else None
